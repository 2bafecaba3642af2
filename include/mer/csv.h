/*
 * csv.h: RFC 4180 CSV, read whole: fields separated by commas; a field may be
 * quoted ("a, b"), with "" standing for a quote and commas and line breaks
 * allowed inside; lines end in LF, CRLF or a lone CR; the last line may lack
 * its line end. The text must be UTF-8 (checked; a leading BOM is skipped).
 * Blank lines between records are skipped. Rows may have different numbers of
 * fields (callers that need a rectangle check n_fields against the header).
 *
 *     struct mer_csv *csv;
 *     if (mer_csv_read(&csv, "labels.csv") < 0) ...;   // mer_errmsg(): 'labels.csv':3:7: ...
 *     int name = mer_csv_column(csv, "name");         // in the header row, or -1
 *     for (size_t r = 1; r < csv->n_rows; r++)
 *         use(csv->rows[r].line, csv->rows[r].fields[name]);
 *     mer_csv_free(csv);
 *
 * Errors name file:line:column (1-based; the column counts bytes): invalid
 * UTF-8 or a NUL byte where it occurs, an unterminated quoted field where its
 * quote opens, a quote inside an unquoted field, a character after a closing
 * quote.
 *
 * Writing: every CSV mer writes goes through mer_csv_write_field/_row, so what it
 * writes reads back field for field (here, and in Python's csv module or pandas).
 * A field is quoted when it must be: when it holds a comma, a quote, CR or LF, or
 * begins or ends with a space or tab; a quote inside is doubled. Lines end in LF.
 *
 *     const char *head[] = {"name", "discrete"};
 *     mer_csv_write_row(fp, head, 2);
 *     mer_csv_write_field(fp, name);   // a,"b" is written as "a,""b"""
 *     fprintf(fp, ",%.6f\n", p);       // numbers never need quotes
 */
#ifndef MER_CSV_H
#define MER_CSV_H

#include <stddef.h>
#include <stdio.h>

struct mer_csv_row {
    size_t line;     /* 1-based line where the record starts */
    size_t n_fields; /* at least 1 */
    char **fields;   /* [n_fields] NUL-terminated, unquoted */
};

struct mer_csv {
    char *path;               /* the name given to the parser, used in errors */
    struct mer_csv_row *rows; /* rows[0] is the header when the file has one */
    size_t n_rows;
};

/* Parses len bytes of buf (name is used in errors). New table in *out, free with
 * mer_csv_free; -1 with an error naming name:line:column. */
int mer_csv_parse(struct mer_csv **out, const char *name, const char *buf, size_t len);
/* Reads and parses a file; as mer_csv_parse. */
int mer_csv_read(struct mer_csv **out, const char *path);
void mer_csv_free(struct mer_csv *csv);

/* Index of a column in the header row (rows[0]; exact match after trimming
 * spaces around the header field), or -1 if absent or the table is empty. */
int mer_csv_column(const struct mer_csv *csv, const char *name);

/* Writes s as one field (quoted when it must be; see above), without separator or line
 * end. Write errors stay in the stream (mer_atomic_commit reports them); returns 0. */
int mer_csv_write_field(FILE *f, const char *s);
/* The same for a printf-formatted field (e.g. "p_%s"); -1 on out of memory. */
int mer_csv_write_fieldf(FILE *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Writes n fields separated by commas and a line end. A row of one empty field is written
 * as "" (a blank line would be skipped on reading). Returns 0. */
int mer_csv_write_row(FILE *f, const char *const *fields, size_t n);

#endif
