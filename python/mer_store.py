"""Read and write mer's stores from Python, with numpy alone.

A mer store is a safetensors file (https://github.com/huggingface/safetensors): 8 bytes of
little-endian header length N, N bytes of JSON header, then the raw little-endian tensor data.
mer adds string entries to the header's "__metadata__":

    mer.format    "mer-store"                 every file mer writes
    mer.version   "1"                         the store format's version
    mer.checksum  "xxh64:<16 hex digits>"     XXH64 (seed 0) of the data section
    mer.kind      "features" | "labels" | "priors" | "model" | ...
    mer.ids       JSON array of the sample names, the row order of every [N, ...] tensor
    mer.classes   JSON array of the class names ("labels" and "priors" stores)
    mer.splits    JSON array of the split names ("labels" stores)
    mer.provenance JSON object: command, inputs, options, time, mer version

A sharded store is a directory with part-00000.safetensors, part-00001.safetensors, ... and an
index.json, {"mer.format": "mer-store-index", "mer.version": 1, "parts": [...]}, whose
parts are joined in that order.

Reading checks what mer's reader checks (include/mer/store.h): the header is one JSON object
with unique keys, dtypes are known, shapes have at most 8 sizes, the tensors tile the data
section exactly, mer.format and mer.version are ones this module knows, and mer.checksum
matches the data (pass verify=False to skip the hash). Writing produces files mer reads
(`mer info` verifies them): the header padded with spaces to a multiple of 8 bytes, tensors
in the order given, mer.format, mer.version and mer.checksum added; written atomically
(a temporary file beside the target, fsync, rename).

    import sys; sys.path.insert(0, "path/to/mer/python")
    import mer_store

    s = mer_store.open_store("stores/audio.safetensors")     # a file or a sharded directory
    s.ids, s.matrix()                                         # names, [N, D] float32
    labels = mer_store.read_labels("stores/labels.safetensors")
    labels.names, labels.label, labels.classes, labels.split_names()

    mer_store.write_features("mine.safetensors", ids, x)     # a features store mer can train on
    meta, arrays = mer_store.load("any.safetensors")          # any safetensors file

The XXH64 here is pure Python (about 10 MB/s); if the `xxhash` package is installed it is
used instead. Only numpy is required.
"""
import json
import os
import re
import struct

import numpy as np

__all__ = [
    "FORMAT", "VERSION", "INDEX_FORMAT", "StoreError", "xxh64", "fnv1a64", "checksum",
    "File", "parse", "read_file", "load", "encode", "write_file", "Store", "open_store",
    "write_features", "write_index", "part_path", "write_sharded_features", "Labels",
    "read_labels", "write_labels", "MODALITIES", "Priors", "read_priors", "write_priors",
    "check_name",
]

FORMAT = "mer-store"
VERSION = 1
INDEX_FORMAT = "mer-store-index"
MAX_DIMS = 8
MAX_HEADER = 1 << 30  # the largest header mer writes and reads (MER_ST_MAX_HEADER in store.h)

# safetensors dtype name -> numpy dtype (little-endian); BF16 is read as float32.
DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1",
          "BF16": "<u2"}
_NP_TO_ST = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<f8"): "F64",
             np.dtype("<i8"): "I64", np.dtype("<i4"): "I32", np.dtype("u1"): "U8"}


class StoreError(ValueError):
    """A file that is not a valid mer store (the message names the file and the place)."""


# ---- checksums ----

_M64 = (1 << 64) - 1
_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc, lane):
    acc = (acc + lane * _P2) & _M64
    return (((acc << 31) | (acc >> 33)) & _M64) * _P1 & _M64


def _xxh64_py(data, seed=0):
    """XXH64 as its spec (xxhash_spec.md) describes it, in pure Python."""
    data = memoryview(data).cast("B")
    n, i = len(data), 0
    if n >= 32:
        v1, v2 = (seed + _P1 + _P2) & _M64, (seed + _P2) & _M64
        v3, v4 = seed & _M64, (seed - _P1) & _M64
        i = n - n % 32
        for a, b, c, d in struct.iter_unpack("<4Q", data[:i]):
            v1 = (v1 + a * _P2) & _M64
            v1 = (((v1 << 31) | (v1 >> 33)) & _M64) * _P1 & _M64
            v2 = (v2 + b * _P2) & _M64
            v2 = (((v2 << 31) | (v2 >> 33)) & _M64) * _P1 & _M64
            v3 = (v3 + c * _P2) & _M64
            v3 = (((v3 << 31) | (v3 >> 33)) & _M64) * _P1 & _M64
            v4 = (v4 + d * _P2) & _M64
            v4 = (((v4 << 31) | (v4 >> 33)) & _M64) * _P1 & _M64
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h = (((h ^ _round(0, v)) * _P1) + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h


try:  # the C implementation when it is installed: same numbers, ~1000 times faster
    import xxhash as _xxhash
except ImportError:
    _xxhash = None


def xxh64(data, seed=0, pure=False):
    """XXH64 of a bytes-like object (an int); pure=True forces the pure-Python version."""
    if _xxhash is not None and not pure:
        return _xxhash.xxh64_intdigest(bytes(data), seed=seed)
    return _xxh64_py(data, seed)


def fnv1a64(data):
    """64-bit FNV-1a, the checksum of mer 0.1's first files ("fnv1a64:<hex>")."""
    h = 0xCBF29CE484222325
    for b in bytes(data):
        h = ((h ^ b) * 0x100000001B3) & _M64
    return h


def checksum(data):
    """mer.checksum of a data section: "xxh64:<16 lowercase hex digits>"."""
    return "xxh64:%016x" % xxh64(data)


def _verify(path, meta, data):
    want = meta.get("mer.checksum")
    if want is None:
        if "mer.format" in meta:
            raise StoreError(f"'{path}': no mer.checksum in __metadata__, which every mer file "
                             "has (header damaged?)")
        return
    if want.startswith("xxh64:"):
        got = checksum(data)
    elif want.startswith("fnv1a64:"):
        got = "fnv1a64:%016x" % fnv1a64(data)
    else:
        raise StoreError(f"'{path}': mer.checksum '{want[:40]}' names an unknown algorithm "
                         "(known: xxh64 and fnv1a64)")
    if got != want:
        raise StoreError(f"'{path}': checksum mismatch: the data section ({len(data)} bytes) "
                         f"hashes to {got} but the header says {want[:40]} (file corrupted)")


# ---- one safetensors file ----

class File:
    """One safetensors file: meta (dict of str -> str) and tensors (dict of name -> read-only
    numpy array, in data order); header_size (8 + N) and data_size in bytes."""

    def __init__(self, path, meta, tensors, dtypes, header_size, data_size):
        self.path, self.meta, self.tensors, self.dtypes = path, meta, tensors, dtypes
        self.header_size, self.data_size = header_size, data_size

    def __getitem__(self, name):
        return self.tensors[name]

    def __contains__(self, name):
        return name in self.tensors

    def meta_json(self, key, default=None):
        """A metadata value that holds JSON (mer.ids, mer.classes, ...), decoded."""
        v = self.meta.get(key)
        if v is None:
            return default
        try:
            return json.loads(v)
        except ValueError:
            raise StoreError(f"'{self.path}': metadata '{key}' is not valid JSON") from None

    @property
    def kind(self):
        return self.meta.get("mer.kind")


def _no_duplicates(path, what):
    def hook(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise StoreError(f"'{path}': header: {what(k)} appears twice")
            seen.add(k)
        return dict(pairs)
    return hook


def _is_size(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < (1 << 53)


def _parse_tensor(path, name, v, data_size):
    if not isinstance(v, dict):
        raise StoreError(f"'{path}': header: tensor '{name}' is not an object")
    dt, shape, off = v.get("dtype"), v.get("shape"), v.get("data_offsets")
    if not isinstance(dt, str):
        raise StoreError(f"'{path}': header: tensor '{name}': missing dtype")
    if dt not in DTYPES:
        raise StoreError(f"'{path}': header: tensor '{name}': unsupported dtype '{dt[:20]}'")
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(map(_is_size, shape)):
        raise StoreError(f"'{path}': header: tensor '{name}': shape must be an array of at most "
                         f"{MAX_DIMS} non-negative integer sizes")
    numel = 1
    for d in shape:
        numel *= d
    if numel >= (1 << 63) // 16:
        raise StoreError(f"'{path}': header: tensor '{name}': shape is too large")
    if (not isinstance(off, list) or len(off) != 2 or not all(map(_is_size, off))
            or off[1] < off[0]):
        raise StoreError(f"'{path}': header: tensor '{name}': data_offsets must be [begin, end] "
                         "with 0 <= begin <= end")
    if off[1] > data_size:
        raise StoreError(f"'{path}': header: tensor '{name}': data_offsets {off} exceed the data "
                         f"section of {data_size} bytes (truncated?)")
    need = numel * np.dtype(DTYPES[dt]).itemsize
    if off[1] - off[0] != need:
        raise StoreError(f"'{path}': header: tensor '{name}': {off[1] - off[0]} bytes at "
                         f"data_offsets {off}, but shape and dtype need {need}")
    return dt, shape, off


def _check_format(path, meta, require_mer):
    fmt, ver = meta.get("mer.format"), meta.get("mer.version")
    if fmt is None and ver is None:
        if require_mer:
            raise StoreError(f"'{path}': not written by mer (no mer.format in __metadata__)")
        return
    if fmt != FORMAT:
        raise StoreError(f"'{path}': mer.format is '{(fmt or '')[:40]}', expected '{FORMAT}'")
    if not (isinstance(ver, str) and re.fullmatch(r"[0-9]{1,9}", ver)
            and 1 <= int(ver) <= VERSION):
        raise StoreError(f"'{path}': mer.version {ver} is not supported (this module reads "
                         f"version 1 to {VERSION})")


def parse(blob, path="<memory>", verify=True, require_mer=False):
    """A File from the bytes of a safetensors file (see read_file)."""
    blob = memoryview(blob).cast("B")
    if len(blob) < 8:
        raise StoreError(f"'{path}': {len(blob)} bytes, too short for a safetensors file "
                         "(truncated?)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise StoreError(f"'{path}': byte 0: header length {n}, but only {len(blob) - 8} bytes "
                         "follow (truncated, or not safetensors)")
    if n > MAX_HEADER:
        raise StoreError(f"'{path}': byte 0: header length {n} is over the limit of "
                         f"{MAX_HEADER} bytes")
    raw = bytes(blob[8:8 + n])
    if not raw.startswith(b"{"):
        raise StoreError(f"'{path}': byte 8: the header does not start with '{{' "
                         "(not safetensors?)")
    if b"\0" in raw:
        raise StoreError(f"'{path}': byte {raw.index(bytes(1)) + 8}: NUL byte in the header")
    try:
        text = raw.decode("utf-8")
        header, end = json.JSONDecoder(
            object_pairs_hook=_no_duplicates(path, lambda k: f"key '{k}'")).raw_decode(text)
    except UnicodeDecodeError as e:
        raise StoreError(f"'{path}': byte {e.start + 8}: the header is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise StoreError(f"'{path}': header is not a JSON object ({e.msg})") from None
    if text[end:].strip(" \t\r\n"):
        raise StoreError(f"'{path}': text after the header's JSON object")
    if not isinstance(header, dict):
        raise StoreError(f"'{path}': the header is not a JSON object")
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict):
        raise StoreError(f"'{path}': header: __metadata__ is not an object")
    for k, v in meta.items():
        if not isinstance(v, str):
            raise StoreError(f"'{path}': header: __metadata__ '{k}' is not a string")
    spans = []
    for name, v in header.items():
        dt, shape, off = _parse_tensor(path, name, v, len(data))
        spans.append((off[0], off[1] - off[0], name, dt, shape))
    spans.sort(key=lambda s: (s[0], s[1]))
    at, tensors, dtypes = 0, {}, {}
    for begin, size, name, dt, shape in spans:
        if begin != at:
            raise StoreError(f"'{path}': header: tensor '{name}' starts at byte {begin} of the "
                             f"data section, expected {at} (overlap or hole)")
        arr = np.frombuffer(data[begin:begin + size], dtype=DTYPES[dt]).reshape(shape)
        if dt == "BF16":
            arr = (arr.astype("<u4") << 16).view("<f4")
        tensors[name], dtypes[name] = arr, dt
        at += size
    if at != len(data):
        raise StoreError(f"'{path}': data section is {len(data)} bytes but the tensors use {at} "
                         f"({'truncated?' if at > len(data) else 'trailing bytes'})")
    _check_format(path, meta, require_mer)
    if verify:
        _verify(path, meta, data)
    return File(path, meta, tensors, dtypes, 8 + n, len(data))


def _regular_file(path):
    if os.path.isdir(path):
        raise StoreError(f"'{path}': is a directory, not a safetensors file")
    if os.path.exists(path) and not os.path.isfile(path):
        raise StoreError(f"'{path}': not a regular file")


def read_file(path, verify=True, require_mer=False):
    """Reads and validates one safetensors file (mer's or any other tool's) into a File.
    verify: check mer.checksum; require_mer: refuse files without mer.format."""
    path = os.fspath(path)
    _regular_file(path)
    with open(path, "rb") as f:
        blob = f.read()
    return parse(blob, path, verify, require_mer)


def load(path, verify=True):
    """(metadata dict, {name: numpy array}) of any safetensors file, validated as read_file."""
    f = read_file(path, verify)
    return f.meta, f.tensors


def _tensor_list(tensors):
    """[(name, dtype name, little-endian contiguous array)] from a dict or a list of
    (name, array) or (name, dtype name, array)."""
    items = tensors.items() if isinstance(tensors, dict) else tensors
    out = []
    for item in items:
        if len(item) == 3:
            name, dt, arr = item
            if dt not in DTYPES or dt == "BF16":
                raise ValueError(f"tensor '{name}': cannot write dtype {dt}")
            arr = np.asarray(arr, dtype=DTYPES[dt], order="C")  # (keeps 0-d arrays 0-d)
        else:
            name, arr = item
            if hasattr(arr, "detach"):  # a torch tensor
                arr = arr.detach().cpu().numpy()
            arr = np.asarray(arr)
            if arr.dtype == np.bool_:
                arr = arr.astype("u1")
            dt = _NP_TO_ST.get(arr.dtype.newbyteorder("<"))
            if dt is None:
                raise ValueError(f"tensor '{name}': numpy dtype {arr.dtype} has no safetensors "
                                 "dtype here (use float32/16/64, int64/32 or uint8)")
            arr = np.asarray(arr, dtype=DTYPES[dt], order="C")  # (keeps 0-d arrays 0-d)
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"tensor name {name!r} is not allowed")
        if arr.ndim > MAX_DIMS:
            raise ValueError(f"tensor '{name}': {arr.ndim} dimensions (at most {MAX_DIMS})")
        out.append((name, dt, arr))
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise ValueError("a tensor name appears twice")
    return out


def _dumps(obj):
    """Compact JSON as mer writes it (cJSON_PrintUnformatted): UTF-8 text, not \\u escapes."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def encode(tensors, meta=None, mer=True):
    """The bytes of a safetensors file (see write_file)."""
    items = _tensor_list(tensors)
    meta = dict(meta or {})
    for k, v in meta.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError(f"metadata {k!r}: keys and values must be strings")
    data = b"".join(arr.tobytes() for _, _, arr in items)
    if mer:
        meta["mer.format"] = FORMAT
        meta["mer.version"] = str(VERSION)
        meta["mer.checksum"] = checksum(data)
    header, off = {}, 0
    if meta or mer:
        header["__metadata__"] = meta
    for name, dt, arr in items:
        header[name] = {"dtype": dt, "shape": list(arr.shape),
                        "data_offsets": [off, off + arr.nbytes]}
        off += arr.nbytes
    try:
        text = _dumps(header).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a name or metadata value is not valid Unicode") from None
    text += b" " * (-len(text) % 8)
    if len(text) > MAX_HEADER:
        raise ValueError(f"the header would be {len(text)} bytes, over the {MAX_HEADER} that "
                         "readers accept")
    return struct.pack("<Q", len(text)) + text + data


def _write_atomic(path, blob):
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"'{path}': is a directory")
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def write_file(path, tensors, meta=None, mer=True):
    """Writes a safetensors file atomically (an existing file is replaced).

    tensors: {name: array} or [(name, array)] or [(name, "F32", array)], in data order; numpy
    float32/float16/float64/int64/int32/uint8 (bool as uint8) map to F32/F16/F64/I64/I32/U8.
    meta: {key: string}; with mer=True (default) mer.format, mer.version and mer.checksum are
    added after the given keys, so mer reads and verifies the file. Returns the data section.
    """
    blob = encode(tensors, meta, mer)
    _write_atomic(path, blob)
    (n,) = struct.unpack("<Q", blob[:8])
    return blob[8 + n:]


# ---- names ----

_NAME = re.compile(r"[A-Za-z0-9_+=@\u0080-\U0010ffff][A-Za-z0-9._+=@\-\u0080-\U0010ffff]*")


def check_name(kind, name):
    """Raises ValueError unless name is safe in a path, as mer requires of split and class
    names (include/mer/names.h): 1 to 128 bytes of UTF-8, ASCII letters, digits and
    '._+-=@' or non-ASCII characters, not starting with '.' or '-'."""
    if (not isinstance(name, str) or not _NAME.fullmatch(name)
            or len(name.encode("utf-8", "surrogatepass")) > 128
            or any(0xD800 <= ord(c) <= 0xDFFF for c in name)):
        raise ValueError(f"{kind} {name!r}: not a safe name (letters, digits, '._+-=@' or "
                         "non-ASCII, at most 128 bytes, not starting with '.' or '-')")


# ---- stores: one file or a sharded directory ----

def part_path(directory, i):
    """<directory>/part-NNNNN.safetensors, the name of part i of a sharded store."""
    return os.path.join(directory, "part-%05d.safetensors" % i)


class Store:
    """A store as mer opens it (mer_store_open): one file, or the parts of a directory joined.

    parts: the Files; meta: the first part's metadata; kind; ids: the sample names (all
    parts, in order); n; dim (D of a features store); is_sequence (frame level)."""

    def __init__(self, path, parts):
        self.path, self.parts = path, parts
        self.meta = parts[0].meta
        self.kind = self.meta.get("mer.kind")
        self.ids, self._rows, self._first = [], [], [0]
        self.dim, self.is_sequence = None, False
        for p in parts:
            ids = p.meta_json("mer.ids")
            if not isinstance(ids, list):
                raise StoreError(f"'{p.path}': metadata 'mer.ids' missing or not a JSON array")
            for j, s in enumerate(ids):
                if not isinstance(s, str):
                    raise StoreError(f"'{p.path}': metadata 'mer.ids': item {j} is not a string")
            self._check_part(p, len(ids))
            self.ids += ids
            self._first.append(len(self.ids))
        self._index = {}
        for i, s in enumerate(self.ids):
            if s in self._index:
                raise StoreError(f"'{path}': sample '{s}' appears twice")
            self._index[s] = i
        self.n = len(self.ids)

    def _check_part(self, p, n_rows):
        if p.kind != self.kind:
            raise StoreError(f"'{p.path}': mer.kind '{p.kind or ''}' differs from the first "
                             f"part's '{self.kind or ''}'")
        x, o = p.tensors.get("features"), p.tensors.get("offsets")
        if x is None:
            if o is not None:
                raise StoreError(f"'{p.path}': tensor 'offsets' without 'features'")
            return
        if x.ndim != 2 or p.dtypes["features"] not in ("F32", "F16"):
            raise StoreError(f"'{p.path}': tensor 'features' must be F32 or F16 [rows, D]")
        if o is not None:
            if p.dtypes["offsets"] != "I64" or o.shape != (n_rows + 1,):
                raise StoreError(f"'{p.path}': tensor 'offsets' must be I64 [{n_rows + 1}] "
                                 "(samples + 1)")
            if o[0] != 0 or o[-1] != x.shape[0] or np.any(np.diff(o) < 0):
                raise StoreError(f"'{p.path}': offsets are out of order or range "
                                 f"({x.shape[0]} frames)")
            self.is_sequence = True
        elif x.shape[0] != n_rows:
            raise StoreError(f"'{p.path}': {x.shape[0]} feature rows for {n_rows} sample ids")
        if n_rows and self.dim is not None and x.shape[1] != self.dim:
            raise StoreError(f"'{p.path}': features [.., {x.shape[1]}] do not match the other "
                             f"parts' [.., {self.dim}]")
        if n_rows:
            self.dim = x.shape[1]

    def __len__(self):
        return self.n

    def row(self, name):
        """Row of a sample name, or -1."""
        return self._index.get(name, -1)

    def meta_json(self, key, default=None):
        return self.parts[0].meta_json(key, default)

    @property
    def classes(self):
        return self.meta_json("mer.classes")

    @property
    def splits(self):
        return self.meta_json("mer.splits")

    def tensor(self, name):
        """A tensor of every part joined along its first axis ([N, ...] tensors)."""
        arrs = [p.tensors[name] for p in self.parts if name in p.tensors]
        if len(arrs) != len(self.parts):
            raise StoreError(f"'{self.path}': no tensor '{name}' in some part")
        return arrs[0] if len(arrs) == 1 else np.concatenate(arrs, 0)

    def _locate(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"sample index {i} out of range ({self.n} samples)")
        k = int(np.searchsorted(self._first, i, side="right")) - 1
        return self.parts[k], i - self._first[k]

    def read(self, i):
        """Sample i's features as float32 [frames, D] (one frame at utterance level)."""
        p, r = self._locate(i)
        x, o = p.tensors.get("features"), p.tensors.get("offsets")
        if x is None:
            raise StoreError(f"'{p.path}': no 'features' tensor")
        a, b = (int(o[r]), int(o[r + 1])) if o is not None else (r, r + 1)
        return x[a:b].astype(np.float32)

    def matrix(self):
        """The features of every sample as float32 [N, D] (utterance-level stores)."""
        if self.is_sequence:
            raise StoreError(f"'{self.path}': frame-level features; pool them (read(i)) or "
                             "import them with --pool mean")
        x = [p.tensors["features"] for p in self.parts if "features" in p.tensors]
        if len(x) != len(self.parts):
            raise StoreError(f"'{self.path}': no 'features' tensor")
        if not self.n:
            return np.zeros((0, self.dim or 0), np.float32)
        return np.concatenate([a for a in x if a.shape[0]], 0).astype(np.float32)

    def verify(self):
        for p in self.parts:
            _verify(p.path, p.meta, _data_of(p))


def _data_of(f):
    with open(f.path, "rb") as fp:
        fp.seek(f.header_size)
        return fp.read()


def open_store(path, verify=True):
    """Opens a store (a .safetensors file, or a directory with index.json and its parts) as
    mer does; every part must be a mer file with mer.ids. Raises StoreError."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return Store(path, [read_file(path, verify, require_mer=True)])
    index = os.path.join(path, "index.json")
    if not os.path.exists(index):
        raise StoreError(f"'{path}': not a store: no index.json in the directory (sharded "
                         "imports write it after their part)")
    with open(index, encoding="utf-8") as f:
        try:
            root = json.load(f)
        except ValueError:
            root = None
    parts = root.get("parts") if isinstance(root, dict) else None
    if root is None or root.get("mer.format") != INDEX_FORMAT or not isinstance(parts, list):
        raise StoreError(f"'{index}': not a mer store index (expected mer.format "
                         f"'{INDEX_FORMAT}' and a parts array)")
    ver = root.get("mer.version")
    if isinstance(ver, bool) or not isinstance(ver, (int, float)) or not 1 <= ver <= VERSION:
        raise StoreError(f"'{index}': mer.version is not one this module reads (1 to {VERSION})")
    files = []
    for name in parts:
        if not isinstance(name, str) or not name or "/" in name:
            raise StoreError(f"'{index}': parts must be file names in the same directory")
        p = os.path.join(path, name)
        if not os.path.exists(p):
            raise StoreError(f"'{index}': part '{name}' is missing (a shard not finished yet?)")
        files.append(read_file(p, verify, require_mer=True))
    if not files:
        raise StoreError(f"'{path}': the index lists no parts")
    return Store(path, files)


def write_index(directory, n_parts):
    """<directory>/index.json listing part-00000.safetensors .. part-(n_parts-1), as mer's
    sharded jobs write it after their parts."""
    root = {"mer.format": INDEX_FORMAT, "mer.version": VERSION,
            "parts": [os.path.basename(part_path("", i)) for i in range(n_parts)]}
    _write_atomic(os.path.join(directory, "index.json"),
                  json.dumps(root, indent="\t").encode("utf-8"))


def _provenance(provenance):
    if provenance is None:
        return None
    return provenance if isinstance(provenance, str) else _dumps(provenance)


def _ids(ids):
    ids = [str(s) for s in ids]
    for s in ids:
        if not s:
            raise ValueError("an empty sample name")
    if len(set(ids)) != len(ids):
        raise ValueError("a sample name appears twice")
    return ids


def write_features(path, ids, features, offsets=None, dtype="f32", provenance=None):
    """A "features" store, as `mer import` writes it: features [N, D] (utterance level), or
    frame level [sum T, D] with offsets [N + 1] (sample i is rows offsets[i]:offsets[i+1]).
    dtype "f32" or "f16" (values beyond float16's range are refused). provenance: a dict or
    JSON text, stored as mer.provenance."""
    ids = _ids(ids)
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features must be [rows, D], got shape {x.shape}")
    if offsets is None and x.shape[0] != len(ids):
        raise ValueError(f"{x.shape[0]} feature rows for {len(ids)} sample ids")
    if offsets is not None:
        offsets = np.asarray(offsets, dtype=np.int64)
        if (offsets.shape != (len(ids) + 1,) or offsets[0] != 0 or offsets[-1] != x.shape[0]
                or np.any(np.diff(offsets) < 0)):
            raise ValueError("offsets must be [N + 1], from 0, non-decreasing, to the rows")
    if dtype not in ("f32", "f16"):
        raise ValueError(f"dtype must be f32 or f16, not {dtype}")
    if dtype == "f16":
        big = np.isfinite(x) & (np.abs(x) > 65504)
        if big.any():
            r, c = np.argwhere(big)[0]
            raise ValueError(f"value {x[r, c]} at row {r}, column {c} is beyond the float16 "
                             "range (65504); store as f32")
        x = x.astype(np.float16)
    tensors = [("features", x)] + ([("offsets", offsets)] if offsets is not None else [])
    meta = {"mer.kind": "features", "mer.ids": _dumps(ids)}
    if provenance is not None:
        meta["mer.provenance"] = _provenance(provenance)
    return write_file(path, tensors, meta)


def write_sharded_features(directory, ids, features, n_parts, dtype="f32", provenance=None):
    """A sharded features store (utterance level): sample i goes to part i % n_parts, as
    `mer import --shard i/n` splits them; then index.json."""
    ids = _ids(ids)
    x = np.asarray(features, dtype=np.float32)
    os.makedirs(directory, exist_ok=True)
    for k in range(n_parts):
        rows = list(range(k, len(ids), n_parts))
        write_features(part_path(directory, k), [ids[r] for r in rows],
                       x[rows].reshape(len(rows), x.shape[1]), dtype=dtype,
                       provenance=provenance)
    write_index(directory, n_parts)


# ---- labels stores ----

class Labels:
    """A labels store: names [N], label int64 [N] (class index, -1 = unlabeled), valence
    float32 [N] (NaN = absent), split int64 [N] (index into splits), classes, splits."""

    def __init__(self, names, label, valence, split, classes, splits, reliability=None):
        self.names, self.label, self.valence, self.split = names, label, valence, split
        self.classes, self.splits, self.reliability = classes, splits, reliability

    def __len__(self):
        return len(self.names)

    def split_names(self):
        return [self.splits[s] for s in self.split]

    def class_names(self):
        """The label of each sample by name ("" for unlabeled)."""
        return [self.classes[k] if k >= 0 else "" for k in self.label]


def _strings(path, meta_json, key):
    v = meta_json(key)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise StoreError(f"'{path}': metadata '{key}': expected a JSON array of strings")
    return v


def read_labels(path, verify=True):
    """Reads a labels store (`mer import-labels`) with mer's checks into Labels."""
    f = read_file(path, verify, require_mer=True)
    if f.kind != "labels":
        raise StoreError(f"'{path}': not a labels store (mer.kind is '{f.kind or 'absent'}'); "
                         "make one with mer import-labels")
    names = _strings(path, f.meta_json, "mer.ids")
    classes = _strings(path, f.meta_json, "mer.classes")
    splits = _strings(path, f.meta_json, "mer.splits")
    n = len(names)

    def column(name, dt, optional=False):
        t = f.tensors.get(name)
        if t is None and optional:
            return None
        if t is None:
            raise StoreError(f"'{path}': no tensor '{name}' (not a labels store?)")
        if f.dtypes[name] != dt or t.shape != (n,):
            raise StoreError(f"'{path}': tensor '{name}': expected {dt} [{n}], got "
                             f"{f.dtypes[name]} with {t.ndim} dims")
        return t.copy()

    label, split = column("label", "I64"), column("split", "I64")
    valence = column("valence", "F32", True)
    if valence is None:
        valence = np.full(n, np.nan, np.float32)
    for kind, lst in (("class", classes), ("split", splits)):
        for s in lst:
            try:
                check_name(kind, s)
            except ValueError as e:
                raise StoreError(f"'{path}': metadata 'mer.{kind}es': {e}" if kind == "class"
                                 else f"'{path}': metadata 'mer.splits': {e}") from None
        dup = [s for i, s in enumerate(lst) if s in lst[:i]]
        if dup:
            raise StoreError(f"'{path}': metadata 'mer.{kind}es': {kind} '{dup[0]}' is listed "
                             "twice" if kind == "class" else
                             f"'{path}': metadata 'mer.splits': split '{dup[0]}' is listed twice")
    bad = np.flatnonzero((label < -1) | (label >= len(classes)))
    if bad.size:
        raise StoreError(f"'{path}': sample '{names[bad[0]]}': label {label[bad[0]]} is not a "
                         f"class index ({len(classes)} classes)")
    bad = np.flatnonzero((split < 0) | (split >= len(splits)))
    if bad.size:
        raise StoreError(f"'{path}': sample '{names[bad[0]]}': split {split[bad[0]]} is not a "
                         f"split index ({len(splits)} splits)")
    return Labels(names, label, valence, split, classes, splits,
                  column("reliability", "F32", True))


def write_labels(path, names, labels, classes, splits=None, valence=None, provenance=None):
    """A labels store as `mer import-labels` writes it.

    labels: class names ("" or None = unlabeled) or class indices (-1 = unlabeled);
    classes: the class list, in index order; splits: each sample's split name (default all
    "train"; splits are numbered in order of first appearance); valence: floats (NaN =
    absent)."""
    names = _ids(names)
    n = len(names)
    classes = list(classes)
    for c in classes:
        check_name("class", c)
    if len(set(classes)) != len(classes):
        raise ValueError("a class is listed twice")
    lab = np.empty(n, np.int64)
    for i, v in enumerate(labels):
        if isinstance(v, str) or v is None:
            if v and v not in classes:
                raise ValueError(f"sample '{names[i]}': label '{v}' is not one of {classes}")
            lab[i] = classes.index(v) if v else -1
        else:
            if not -1 <= int(v) < len(classes):
                raise ValueError(f"sample '{names[i]}': label {v} is not a class index")
            lab[i] = int(v)
    split_names = list(splits) if splits is not None else ["train"] * n
    order = []
    for s in split_names:
        if s not in order:
            check_name("split", s)
            order.append(s)
    split = np.array([order.index(s) for s in split_names], np.int64).reshape(n)
    val = (np.full(n, np.nan, np.float32) if valence is None
           else np.asarray(valence, np.float32).reshape(n))
    if len(lab) != n or len(split) != n:
        raise ValueError("names, labels and splits differ in length")
    meta = {"mer.kind": "labels", "mer.ids": _dumps(names), "mer.classes": _dumps(classes),
            "mer.splits": _dumps(order)}
    if provenance is not None:
        meta["mer.provenance"] = _provenance(provenance)
    return write_file(path, [("label", lab), ("valence", val), ("split", split)], meta)


# ---- priors stores ----

MODALITIES = ("audio", "video", "text")  # the priors' modality axis (acoustic, visual, textual)


class Priors:
    """A priors store (`mer ingest`): names, prior float32 [N, 3, P] (audio, video, text),
    reliability float32 [N, 3], present uint8 [N, 3], classes; extra: llm_label,
    llm_reliability and status when the store has them; meta: the metadata. prior[:, m] is the
    embedding of the trace (embedding_dim values), its K class scores in the order of classes,
    then its contribution."""

    def __init__(self, names, prior, reliability, present, classes, extra, meta):
        self.names, self.prior, self.reliability = names, prior, reliability
        self.present, self.classes, self.extra, self.meta = present, classes, extra, meta

    @property
    def embedding_dim(self):
        """D of P = D + K + 1 (mer.embedding_dim, else P - K - 1)."""
        d = self.meta.get("mer.embedding_dim")
        k = len(self.classes) if self.classes is not None else 0
        return int(d) if d is not None else self.prior.shape[2] - k - 1


def read_priors(path, verify=True):
    """Reads a priors store (`mer ingest`, kind "priors") into Priors."""
    s = open_store(path, verify)
    if s.kind != "priors":
        raise StoreError(f"'{path}': not a priors store (mer.kind is '{s.kind or 'absent'}')")
    n = s.n
    prior, rel, pres = (s.tensor(k) for k in ("prior", "reliability", "present"))
    if (prior.ndim != 3 or prior.shape[:2] != (n, 3) or rel.shape != (n, 3)
            or pres.shape != (n, 3)):
        raise StoreError(f"'{path}': expected prior [N, 3, P], reliability [N, 3], "
                         "present [N, 3]")
    extra = {k: s.tensor(k) for k in ("llm_label", "llm_reliability", "status")
             if all(k in p.tensors for p in s.parts)}
    return Priors(s.ids, prior, rel, pres, s.classes, extra, s.meta)


def write_priors(path, names, prior, reliability, present, classes, llm_label=None,
                 llm_reliability=None, status=None, provenance=None, extra_meta=None):
    """A priors store in `mer ingest`'s layout, for priors made elsewhere: prior [N, 3, P]
    (audio, video, text), reliability [N, 3] in [0, 1], present [N, 3] (0/1); classes in the
    labels store's order. llm_label (-1 = none), llm_reliability and status (0 no answer,
    1 parsed, ...) default to -1, 0 and 1 where any prior is present."""
    names = _ids(names)
    n = len(names)
    prior = np.asarray(prior, np.float32)
    rel = np.asarray(reliability, np.float32)
    pres = (np.asarray(present) != 0).astype(np.uint8)
    if prior.ndim != 3 or prior.shape[:2] != (n, 3) or rel.shape != (n, 3) or pres.shape != (n, 3):
        raise ValueError("expected prior [N, 3, P], reliability [N, 3], present [N, 3]")
    llm_label = np.full(n, -1, np.int64) if llm_label is None else np.asarray(llm_label, np.int64)
    llm_reliability = (np.zeros(n, np.float32) if llm_reliability is None
                       else np.asarray(llm_reliability, np.float32))
    status = (pres.any(1).astype(np.uint8) if status is None else np.asarray(status, np.uint8))
    meta = {"mer.kind": "priors", "mer.ids": _dumps(names), "mer.classes": _dumps(list(classes)),
            "mer.modalities": _dumps(list(MODALITIES))}
    meta.update(extra_meta or {})
    if provenance is not None:
        meta["mer.provenance"] = _provenance(provenance)
    return write_file(path, [("prior", prior), ("reliability", rel), ("present", pres),
                             ("llm_label", llm_label), ("llm_reliability", llm_reliability),
                             ("status", status)], meta)
