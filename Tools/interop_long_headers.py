#!/usr/bin/env python3
"""Long NDU headers, both decoders: swift-nnr encodes tensors whose headers are longer than the
parser's first 4 KiB probe (issue 18, item 1), NNCodec 2.1.3 and `nnr decode` decode them, and
the tensors must agree bit for bit.

  $NNC_VENV/bin/python Tools/interop_long_headers.py [--nnr .build/release/nnr]

Cases: 32000x64 at scan order 1 (3999 entry points), 128000x16 at scan order 2 (7999), and a
tensor of 100,000 distinct levels coded with a codebook (codebook_size 100,000).
Prints one line per case and "N passed, M failed"; exit 1 on any failure.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cases():
    rng = np.random.default_rng(18)
    yield "32000x64 scan order 1", {"embed.weight": (rng.standard_normal((32000, 64)) * 0.05).astype(np.float32)}, \
        ["--scan-order=1", "--qp=-32"]
    yield "128000x16 scan order 2", {"embed.weight": (rng.standard_normal((128000, 16)) * 0.05).astype(np.float32)}, \
        ["--scan-order=2", "--qp=-32"]
    n = 100_000
    levels = (np.arange(n) * 7919) % n - n // 2
    yield "codebook of 100000 entries", {"codebook.weight": (levels.astype(np.float32) * 2.0 ** -8).reshape(n // 100, 100)}, \
        ["--codebook=always", "--qp=-32", "--no-dq"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnr", default=os.path.join(ROOT, ".build", "release", "nnr"))
    args = ap.parse_args()
    from nncodec import nnc
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for label, tensors, flags in cases():
            src, nnr_file, ours_npz = (os.path.join(tmp, f) for f in ("in.npz", "x.nnc", "out.npz"))
            np.savez(src, **tensors)
            try:
                subprocess.run([args.nnr, "encode", src, "-o", nnr_file, "-q"] + flags, check=True, capture_output=True)
                subprocess.run([args.nnr, "decode", nnr_file, "-o", ours_npz, "-q"], check=True, capture_output=True)
                theirs = nnc.decompress(bytearray(open(nnr_file, "rb").read()), verbose=False)
                ours = np.load(ours_npz)
                ok = set(ours.files) == set(theirs.keys())
                for k in ours.files:
                    t = np.asarray(theirs[k])
                    ok = ok and t.dtype == ours[k].dtype and t.shape == ours[k].shape and t.tobytes() == ours[k].tobytes()
            except subprocess.CalledProcessError as e:
                ok = False
                print(f"  {label}: nnr failed: {e.stderr.decode(errors='replace')[:300]}")
            except Exception as e:  # NNCodec could not decode our file
                ok = False
                print(f"  {label}: NNCodec failed: {e!r}"[:400])
            size = os.path.getsize(nnr_file) if os.path.exists(nnr_file) else 0
            print(f"{'ok  ' if ok else 'FAIL'} {label:28} {size} bytes")
            passed += ok
            failed += not ok
    print(f"interop (long headers): {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
