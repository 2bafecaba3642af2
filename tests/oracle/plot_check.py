#!/usr/bin/python3
"""Checks mer plot's files (tests/cli/t7200-*), independently of the C code.

Usage:
  plot_check.py svg FILE KIND TITLE [TEXT...] [meta:key=value...]
      FILE parses as XML with an <svg> root; its <title> is TITLE; <desc> holds every TEXT
      (one label a line); <metadata id="mer-plot"> is JSON with "kind" KIND and each key=value
      (value compared as JSON, e.g. cells=36, bars=12).
  plot_check.py png FILE WIDTH HEIGHT
      FILE decodes (PIL) at WIDTH x HEIGHT and is not blank (some pixels far from white, and
      at least 3 distinct colours).
  plot_check.py ece PRED.csv BINS PRINTED [LABELS.csv]
      numpy's ECE of the predictions (confidence = largest p_<class>; correct = prediction
      equals the label, from LABELS.csv's 'discrete' column when given; equal-width bins
      (b/B, (b+1)/B], a confidence of 0 in the first) against the value mer printed: 1e-9.
"""
import csv
import json
import sys
import xml.etree.ElementTree as ET

import numpy as np

SVG = "{http://www.w3.org/2000/svg}"


def check_svg(path, kind, title, args):
    texts = [a for a in args if not a.startswith("meta:")]
    metas = [a[5:].split("=", 1) for a in args if a.startswith("meta:")]
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg", root.tag
    got_title = root.find(SVG + "title").text or ""
    assert got_title == title, (got_title, title)
    desc = (root.find(SVG + "desc").text or "").split("\n")
    for t in texts:
        assert t in desc, "%r not among the labels drawn: %r" % (t, desc)
    meta = root.find(SVG + "metadata")
    assert meta is not None and meta.get("id") == "mer-plot"
    m = json.loads(meta.text)
    assert m["kind"] == kind, (m["kind"], kind)
    for k, v in metas:
        assert m[k] == json.loads(v), (k, m[k], v)
    print("svg %s: XML ok, title %r, %d labels, meta %s" % (path, title, len(desc) - 1,
          ",".join("%s=%s" % tuple(kv) for kv in metas) or "-"))


def check_png(path, w, h):
    from PIL import Image
    im = Image.open(path)
    im.load()
    assert im.size == (w, h), (im.size, (w, h))
    a = np.asarray(im.convert("RGB")).astype(int)
    dark = (a.sum(axis=2) < 600).mean()
    colours = len(np.unique(a.reshape(-1, 3), axis=0))
    assert dark > 0.01 and colours >= 3, (dark, colours)
    print("png %s: %dx%d, %.1f%% inked, %d colours" % (path, w, h, 100 * dark, colours))


def check_ece(pred, bins, printed, labels=None):
    rows = list(csv.DictReader(open(pred, encoding="utf-8")))
    pcols = [c for c in rows[0] if c.startswith("p_")]
    truth = {}
    if labels:
        truth = {r["name"]: r["discrete"] for r in csv.DictReader(open(labels, encoding="utf-8"))}
    conf, correct = [], []
    for r in rows:
        label = truth.get(r["name"], "") if labels else r.get("label", "")
        if not label:
            continue
        conf.append(max(float(r[c]) for c in pcols))
        correct.append(r["prediction"] == label)
    conf, correct = np.array(conf), np.array(correct, dtype=float)
    b = np.clip(np.ceil(conf * bins) - 1, 0, bins - 1).astype(int)
    ece = 0.0
    for k in range(bins):
        sel = b == k
        if sel.any():
            ece += sel.sum() / len(conf) * abs(correct[sel].mean() - conf[sel].mean())
    diff = abs(ece - printed)
    assert diff < 1e-9, (ece, printed)
    print("ece: numpy %.12f, mer %.12f, diff %.2g (%d samples, %d bins)" %
          (ece, printed, diff, len(conf), bins))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "svg":
        check_svg(args[0], args[1], args[2], args[3:])
    elif cmd == "png":
        check_png(args[0], int(args[1]), int(args[2]))
    elif cmd == "ece":
        check_ece(args[0], int(args[1]), float(args[2]), args[3] if len(args) > 3 else None)
    else:
        sys.exit("plot_check.py: unknown check %r" % cmd)


if __name__ == "__main__":
    main()
