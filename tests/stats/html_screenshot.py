"""Renders `onnx-lsc stats --html` in headless Chromium and checks the screenshot:
not blank, the values and meta-data bar colours present, one bar per format for every
layer (counted along the column where the bars start), and the sparsity maps drawn.
Skips (77) only when chromium is not installed.

usage: html_screenshot.py ONNX_LSC [MODEL.onnx] [--keep PNG]
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_stats  # noqa: E402  (its generated models)

VALUES = (0x3B, 0x7D, 0xD8)
META = (0xE4, 0x57, 0x2E)
MAP_DARK = (20, 50, 120)
N_BARS = 9  # LSC + 8 classic formats


def read_png(path):
    """Through PIL when present (python3-pil), else the decoder below."""
    try:
        from PIL import Image
        return np.asarray(Image.open(path).convert("RGB")).astype(np.int32)
    except ImportError:
        return decode_png(path)


def decode_png(path):
    """RGB(A) 8-bit non-interlaced PNG -> array (h, w, channels), all five filters."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unsupported PNG {hdr}"
    ch = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * ch
    img = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        if f in (0, 2):
            cur = (line + (prev if f == 2 else 0)) & 255
        else:
            for x in range(stride):
                a = cur[x - ch] if x >= ch else 0
                b = prev[x]
                c = prev[x - ch] if x >= ch else 0
                if f == 1:
                    p = a
                elif f == 3:
                    p = (a + b) >> 1
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[x] = (line[x] + p) & 255
        img[y] = cur
        prev = cur
    return img.reshape(h, w, ch)[:, :, :3]


def near(img, rgb, tol=12):
    return (np.abs(img - np.array(rgb)).max(axis=2) <= tol)


def runs(column):
    return int(np.count_nonzero(column[1:] & ~column[:-1]) + (1 if column[0] else 0))


def main():
    exe = sys.argv[1]
    args = sys.argv[2:]
    keep = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is not installed: skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        model = args[0] if args else check_stats.generated(tmp)[0]
        html = os.path.join(tmp, "report.html")
        p = subprocess.run([exe, "stats", model, "--html", html, "--json"], capture_output=True)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        import json
        doc = json.loads(p.stdout)
        layers = [l for l in doc["layers"] if l["lsc"] and l["nnz"]]
        height = 520 + 300 * len(doc["layers"])
        shot = os.path.join(tmp, "shot.png")
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--user-data-dir=" + os.path.join(tmp, "profile"),
               f"--window-size=1200,{height}", "--screenshot=" + shot, "file://" + html]
        r = subprocess.run(cmd, capture_output=True, timeout=120)
        assert r.returncode == 0 and os.path.exists(shot), r.stderr.decode(errors="replace")[-2000:]
        img = read_png(shot)
        failures = []
        if img.std() < 10:
            failures.append(f"blank screenshot (std {img.std():.2f})")
        v, m = near(img, VALUES), near(img, META)
        if v.sum() < 1000 or m.sum() < 500:
            failures.append(f"bar colours missing: values {v.sum()} px, meta-data {m.sum()} px")
        col = int(np.argmax(v.sum(axis=0)))  # where the value bars start
        bars = runs(v[:, col])
        if bars < N_BARS * len(layers):
            failures.append(f"{bars} bars at x={col}, want {N_BARS} x {len(layers)} layers")
        dark = near(img, MAP_DARK, 40).sum()
        if dark < 50:
            failures.append(f"sparsity maps missing ({dark} dark pixels)")
        print(f"screenshot {img.shape[1]}x{img.shape[0]}: std {img.std():.1f}, {bars} bars for "
              f"{len(layers)} layers, {dark} map pixels")
        if keep:
            shutil.copyfile(shot, keep)
        for f in failures:
            print("FAIL:", f)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
