#!/usr/bin/python3
"""Oracle for mer's CSV reader: tricky CSV files written by Python's csv module.

Usage: labels_csv.py OUTDIR
Writes OUTDIR/case-NN.csv (random fields with commas, quotes, CR/LF/CRLF inside, spaces,
2-4 byte UTF-8; rows of varying width; LF or CRLF line ends; minimal or full quoting; with
or without a UTF-8 BOM; with or without a final line end) and OUTDIR/case-NN.txt, the rows
as written: one line per record, "<n_fields> <field> ...", each field as lowercase hex of
its UTF-8 bytes ("-" for an empty field). Ends with OUTDIR/count holding the number of cases.
"""
import csv
import io
import random
import sys

PIECES = ["a", "b", "Z", "0", "9", " ", ",", '"', '""', "\n", "\r\n", "\r", "é", "样本",
          "😀", "-0.52", "sample_00000001", "happy", "'", ";", "\t"]


def field(rng, pieces):
    if rng.random() < 0.15:
        return ""
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))


def rows(rng, pieces):
    width = rng.randint(1, 5)
    out = []
    for _ in range(rng.randint(1, 12)):
        n = width if rng.random() < 0.8 else rng.randint(1, 6)  # some ragged rows
        out.append([field(rng, pieces) for _ in range(n)])  # [""] is written as "" (not a blank line)
    return out


def main():
    outdir = sys.argv[1]
    rng = random.Random(20240805)
    n_cases = 60
    for i in range(n_cases):
        end = rng.choice(["\n", "\r\n"])
        # The writer quotes fields holding a character of its line end, not a lone CR when
        # that is "\n": such files are ambiguous (Python's own reader misreads them).
        data = rows(rng, PIECES if end == "\r\n" else [p for p in PIECES if "\r" not in p])
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator=end,
                   quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])).writerows(data)
        text = buf.getvalue()
        assert list(csv.reader(io.StringIO(text, newline=""))) == data
        if rng.random() < 0.3:
            text = text[:-len(end)]  # no line end after the last record
        encoding = "utf-8-sig" if rng.random() < 0.3 else "utf-8"
        with open("%s/case-%02d.csv" % (outdir, i), "w", encoding=encoding, newline="") as f:
            f.write(text)
        with open("%s/case-%02d.txt" % (outdir, i), "w") as f:
            for row in data:
                hexes = [x.encode("utf-8").hex() or "-" for x in row]
                f.write("%d %s\n" % (len(row), " ".join(hexes)))
    with open("%s/count" % outdir, "w") as f:
        f.write("%d\n" % n_cases)


main()
