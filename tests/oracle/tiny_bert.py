#!/usr/bin/python3
"""Oracle for mer's WordPiece tokenizer and TorchScript text encoder (tests/unit/test_wordpiece.c,
tests/unit/test_tsenc.c), written independently of the C code.

Usage: tiny_bert.py OUTDIR [--tokens-only] [--exhaustive]
  (1) a BERT tokenizer in Python following transformers' BertTokenizer (BasicTokenizer with
      do_lower_case=True, tokenize_chinese_chars=True, then WordpieceTokenizer), on unicodedata;
  (2) a vocabulary: model/vocab.txt (special tokens, ASCII, "##" pieces, English words and
      subwords, CJK, Greek, Cyrillic, Hangul jamo, full-width forms, the stripped forms of
      Latin-1/Latin Extended-A/B, Greek, Cyrillic and full-width letters; "the" twice, so the
      last line wins), and vocab_nounk.txt (no [UNK]);
  (3) unless --tokens-only, a tiny BERT-like encoder (token + position embeddings, LayerNorm,
      2 post-LN transformer layers, hidden 32, 4 heads, GELU feed-forward 64; mean pooling over
      the attention mask, then L2-normalized), seed 0, saved with torch.jit.script as
      model/model.pt: forward(input_ids int64 [1, T], attention_mask int64 [1, T]) -> float [1, 32];
  (4) the expectations, for the fixed texts (texts.hex: one text a line as hex UTF-8, invalid
      bytes included) and 400 seeded random texts (random.hex):
        ids128.txt, ids16.txt   the ids (space-separated, a line per text) at max_length 128, 16
        random_ids.txt          the random texts' ids, untruncated
        emb.f32                 [n texts, 32] float32, the loaded TorchScript module's outputs
                                for ids128 (no padding: the mask is all ones)
        flat64.pt               the same model returning float64 [32] (accepted by mer)
        unpooled.pt, oneinput.pt   wrong exports: [1, T, 1] outputs; forward(input_ids) only
        expected.json           all of the above, for people
        unicode_version.txt     this Python's unicodedata version
  (5) with --exhaustive, every code point of planes 0-3 and 14's tags/selectors (a sample of the
      rest) in contexts that expose each table entry ("a{c}b {c}Σ aΣ{c}b ", 256 code points a
      text), against vocab_all.txt (every character that stripping yields, bare and "##"):
        exhaustive.txt          per text: first code point, count, number of ids, FNV-1a 64 of
                                the ids joined by spaces (the C test builds the same texts)
"""
import json
import os
import random
import sys
import unicodedata

# ---- (1) the tokenizer ----


def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_chinese(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def split_on_punctuation(word):
    out, cur = [], ""
    for c in word:
        if is_punctuation(c):
            if cur:
                out.append(cur)
            out.append(c)
            cur = ""
        else:
            cur += c
    if cur:
        out.append(cur)
    return out


def basic_tokenize(text):
    cleaned = []
    for c in text:
        if ord(c) == 0 or ord(c) == 0xFFFD or is_control(c):
            continue
        c = " " if is_whitespace(c) else c
        cleaned.append(" %s " % c if is_chinese(ord(c)) else c)
    words = []
    for w in "".join(cleaned).strip().split():
        w = w.lower()
        w = "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")
        words.extend(split_on_punctuation(w))
    return " ".join(words).strip().split()


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def encode(data, vocab, max_length):
    """data: bytes, decoded as Python decodes bad UTF-8 (U+FFFD, which cleaning drops)."""
    text = data.decode("utf-8", "replace")
    pieces = [p for w in basic_tokenize(text) for p in wordpiece(w, vocab)]
    pieces = pieces[:max_length - 2]
    return [vocab["[CLS]"]] + [vocab[p] for p in pieces] + [vocab["[SEP]"]]


# ---- (2) the vocabulary ----

WORDS = """the he she said cafe deja vu smile ok angry man shout ##s loud ##ly un ##believ ##able
play ##ing hello world really happy quoted dash que si end istanbul straße łodz ærøskøbing
οδος σοφος ς σ привет мир елка ｈｅｌｌｏ ｗｏｒｌｄ ， ！ １２３ look ##s voice face
他 看 起 来 很 生 气 我 高 兴 。 ， 的 了 说 笑""".split()


def stripped(c):
    return "".join(x for x in unicodedata.normalize("NFD", c.lower()) if unicodedata.category(x) != "Mn")


def make_vocab():
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [chr(c) for c in range(33, 127)]
    tokens += ["##" + chr(c) for c in range(33, 127) if chr(c).isalnum()]
    tokens += WORDS
    tokens.append("".join(basic_tokenize("한국어")))  # the jamo of a whole Hangul word
    ranges = [(0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0xFF00, 0xFFEF)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            if unicodedata.category(chr(cp)).startswith("C"):
                continue
            for c in stripped(chr(cp)):
                tokens += [c, "##" + c]
    seen, out = set(), []
    for t in tokens:
        if t.strip() and t not in seen:
            seen.add(t)
            out.append(t)
    out.append("the")  # listed twice: the last line's id wins
    return out


# ---- (4) the texts ----

TEXTS = [
    "Café déjà vu!".encode(),
    "他看起来很生气。".encode(),
    "He said: 我很高兴 (really happy)!! 他笑了，说“OK”".encode(),
    "😀 smile 👍🏽 ok 👨\u200d👩\u200d👧 ☃".encode(),
    b"",
    ("The angry man shouts loudly, unbelievable! " * 25).encode(),
    "a\x00b\x07c\td\ne\r\x1bf\u200bg\ufeffh\u00adi\x7fj\x85k".encode(),
    "angry\x01face\x1f \u200eloud\u202e voice\x7f!\x9f".encode(),  # no NUL: C strings can carry it
    "ＨＥＬＬＯ，ｗｏｒｌｄ！１２３ ｏｋ".encode(),
    "ΟΔΟΣ ΣΟΦΟΣ. Σ ΑΣ'Σ ΑΣ.Β όδός".encode(),
    "Привет, МИР! Ёлка".encode(),
    "Łódź İstanbul ǅemal Ærøskøbing STRAẞE straße Ǆ ǈ".encode(),
    "한국어 텍스트".encode(),
    "e\u0301 a\u0308 \u0301alone".encode(),
    "a\u00a0b\u2028c\u3000d\u2009e\u2029f".encode(),
    b"caf\xc3 \xff\xfe ok \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf end\xe4\xbd",
    ("a" * 101 + " " + "b" * 100 + " x").encode(),
    "«quoted» — dash… ¿qué? ¡sí! [CLS] un##able".encode(),
    "unbelievable playing looks voice face.".encode(),
    "   \t\n  ".encode(),
]

POOLS = [
    (1, [(0x20, 0x7E)] * 6 + [(0x41, 0x5A)] * 2),
    (1, [(0xA0, 0x24F)]),
    (1, [(0x370, 0x3FF), (0x3A3, 0x3A3), (0x3A3, 0x3A3), (0x2E, 0x2E), (0x27, 0x27)]),
    (1, [(0x400, 0x4FF)]),
    (1, [(0x4E00, 0x4E80), (0x3000, 0x303F), (0xF900, 0xFAFF)]),
    (1, [(0x300, 0x36F), (0x0, 0x1F), (0x7F, 0x9F), (0x200B, 0x200F), (0x2028, 0x2029)]),
    (1, [(0xFF00, 0xFFEF), (0xAC00, 0xD7A3), (0x1F300, 0x1F6FF), (0x1E00, 0x1FFF)]),
    (1, [(0x0, 0xFFFF), (0x0, 0x10FFFF)]),
]


def random_texts(n):
    rng = random.Random(5)
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.15:
                chars.append(" ")
                continue
            lo, hi = rng.choice(rng.choice(POOLS)[1])
            chars.append(chr(rng.randint(lo, hi)))
        data = "".join(chars).encode("utf-8", "surrogatepass")
        if rng.random() < 0.1:  # a stray byte somewhere
            i = rng.randint(0, len(data))
            data = data[:i] + bytes([rng.choice([0x80, 0xBF, 0xC3, 0xE4, 0xF0, 0xFF])]) + data[i:]
        out.append(data)
    return out


# ---- (5) every code point, in the contexts that show its tables' entries ----

def exhaustive_cps():
    """Planes 0-3 (everything assigned beside the CJK extensions), the tags and variation
    selectors of plane 14, and a sparse sample of the rest; no surrogates (not UTF-8)."""
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if cp < 0x40000 or 0xE0000 <= cp <= 0xE01EF or cp % 97 == 0:
            yield cp


def exhaustive_text(cps):
    """Per code point c: "a{c}b" (dropped, space, punctuation, CJK, mapping), "{c}Σ" and
    "aΣ{c}b" (Cased and Case_Ignorable, through the final sigma)."""
    return "".join("a%sb %s\u03a3 a\u03a3%sb " % (c, c, c) for c in map(chr, cps))


def fnv64(text):
    h = 1469598103934665603
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def write_exhaustive(out):
    cps = list(exhaustive_cps())
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "##a", "##b", "\u03c3", "\u03c2",
              "##\u03c3", "##\u03c2"]
    seen = set(tokens)
    for cp in cps:
        for c in stripped(chr(cp)):
            if c.isspace() or unicodedata.category(c).startswith("C"):
                continue  # never reaches WordPiece, and "\n" would break the file's lines
            for t in (c, "##" + c):
                if t not in seen:
                    seen.add(t)
                    tokens.append(t)
    vocab = {t: i for i, t in enumerate(tokens)}
    with open(os.path.join(out, "vocab_all.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in tokens))
    with open(os.path.join(out, "exhaustive.txt"), "w") as f:
        for i in range(0, len(cps), 256):
            chunk = cps[i:i + 256]
            ids = encode(exhaustive_text(chunk).encode(), vocab, 1 << 30)
            f.write("%d %d %d %d\n" % (chunk[0], len(chunk), len(ids), fnv64(" ".join(map(str, ids)))))


def write_lines(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(" ".join(str(x) for x in r) + "\n")


# ---- (3) the model ----

def make_model(vocab_size):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Layer(nn.Module):
        def __init__(self, hidden: int, heads: int, ff: int):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(hidden, 3 * hidden)
            self.proj = nn.Linear(hidden, hidden)
            self.ln1 = nn.LayerNorm(hidden)
            self.fc1 = nn.Linear(hidden, ff)
            self.fc2 = nn.Linear(ff, hidden)
            self.ln2 = nn.LayerNorm(hidden)

        def forward(self, h, bias):
            n, t, d = h.shape
            qkv = self.qkv(h).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5 + bias, dim=-1)
            a = (att @ v).transpose(1, 2).reshape(n, t, d)
            h = self.ln1(h + self.proj(a))
            return self.ln2(h + self.fc2(F.gelu(self.fc1(h))))

    class TinyBert(nn.Module):
        def __init__(self, vocab_size: int, hidden: int = 32, max_pos: int = 128):
            super().__init__()
            self.tok = nn.Embedding(vocab_size, hidden)
            self.pos = nn.Embedding(max_pos, hidden)
            self.ln = nn.LayerNorm(hidden)
            self.layers = nn.ModuleList([Layer(hidden, 4, 64) for _ in range(2)])

        def forward(self, input_ids, attention_mask):
            t = input_ids.size(1)
            pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
            h = self.ln(self.tok(input_ids) + self.pos(pos))
            bias = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * -10000.0
            for layer in self.layers:
                h = layer(h, bias)
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return F.normalize(pooled, dim=-1)

    class Flat64(nn.Module):
        """The same encoder returning float64 [H]: a shape and dtype mer also accepts."""

        def __init__(self, inner: nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids, attention_mask)[0].double()

    class Unpooled(nn.Module):
        """A wrong export: [1, T, 1] per-token outputs."""

        def forward(self, input_ids, attention_mask):
            return (input_ids * attention_mask).unsqueeze(-1).float()

    class OneInput(nn.Module):
        """A wrong export: forward takes the ids only."""

        def forward(self, input_ids):
            return input_ids.float()

    torch.manual_seed(0)
    model = TinyBert(vocab_size).eval()
    return model, {"flat64.pt": Flat64(model), "unpooled.pt": Unpooled(), "oneinput.pt": OneInput()}


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    tokens = make_vocab()
    vocab = {t: i for i, t in enumerate(tokens)}  # as HF's load_vocab: the last line wins
    with open(os.path.join(out, "model", "vocab.txt"), "w") as f:
        f.write("".join(t + "\n" for t in tokens))
    with open(os.path.join(out, "vocab_nounk.txt"), "w") as f:
        f.write("".join(t + "\n" for t in tokens if t != "[UNK]"))
    rnd = random_texts(400)
    with open(os.path.join(out, "unicode_version.txt"), "w") as f:
        f.write(unicodedata.unidata_version + "\n")
    write_lines(os.path.join(out, "texts.hex"), [[t.hex()] for t in TEXTS])
    write_lines(os.path.join(out, "random.hex"), [[t.hex()] for t in rnd])
    ids128 = [encode(t, vocab, 128) for t in TEXTS]
    ids16 = [encode(t, vocab, 16) for t in TEXTS]
    rnd_ids = [encode(t, vocab, 1 << 30) for t in rnd]
    write_lines(os.path.join(out, "ids128.txt"), ids128)
    write_lines(os.path.join(out, "ids16.txt"), ids16)
    write_lines(os.path.join(out, "random_ids.txt"), rnd_ids)
    expected = {"vocab_size": len(tokens), "texts": [
        {"hex": t.hex(), "text": t.decode("utf-8", "replace"),
         "tokens": [tokens[i] for i in ids], "ids128": ids, "ids16": i16}
        for t, ids, i16 in zip(TEXTS, ids128, ids16)]}
    if "--exhaustive" in sys.argv:
        write_exhaustive(out)
    if "--tokens-only" not in sys.argv:
        import torch
        model, others = make_model(len(tokens))
        for name, m in others.items():
            torch.jit.save(torch.jit.script(m.eval()), os.path.join(out, name))
        path = os.path.join(out, "model", "model.pt")
        torch.jit.save(torch.jit.script(model), path)
        loaded = torch.jit.load(path)
        embs = []
        with torch.no_grad():
            for ids in ids128:
                x = torch.tensor([ids], dtype=torch.int64)
                mask = torch.ones_like(x)
                e = loaded(x, mask)
                assert (e - model(x, mask)).abs().max() < 1e-6  # scripted == eager
                embs.append(e[0])
        emb = torch.stack(embs).numpy().astype("<f4")
        emb.tofile(os.path.join(out, "emb.f32"))
        for row, e in zip(expected["texts"], emb):
            row["embedding"] = [float(v) for v in e]
        expected["hidden"] = int(emb.shape[1])
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
