#!/usr/bin/env python3
"""Builds the seed corpus of the "model" fuzz target (Fuzz/Corpus/model/): small .npy, .npz and
.safetensors files made with numpy, crafted ones (ZIP64 size lies, zip bombs with small and
large declared shapes, safetensors offsets past the file), and ../shared/hostile/*.npz.

    python3 Fuzz/make-model-corpus.py

Rerunning replaces Fuzz/Corpus/model; Fuzz/Regressions is never touched. Needs numpy.
"""
import glob, io, json, os, shutil, struct, sys, zlib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tools"))
from make_hostile_files import npy_header, zip_one  # noqa: E402
OUT = os.path.join(ROOT, "Fuzz", "Corpus", "model")
HOSTILE = os.path.join(os.path.dirname(ROOT), "shared", "hostile")


def npy(a, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, a, version=version)
    else:
        np.save(b, a)
    return b.getvalue()


def npz(arrays, compressed=False):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def safetensors(tensors, metadata=None):
    header, data, off = {}, b"", 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, a) in tensors.items():
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def one_member_zip(name, plain, declared, method=8):
    data = zlib.compress(plain, 9)[2:-4] if method == 8 else plain
    return zip_one(name, data, zlib.crc32(plain), declared, method)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rng = np.random.default_rng(5)
    seeds = {
        "f4_2x3.npy": npy(rng.standard_normal((2, 3)).astype(np.float32)),
        "f8_scalar.npy": npy(np.float64(1.5)),
        "i4_empty.npy": npy(np.zeros((0, 3), np.int32)),
        "u1_bool.npy": npy(np.array([True, False, True])),
        "f2_v2.npy": npy(rng.standard_normal(5).astype(np.float16), version=(2, 0)),
        "f4_big_endian.npy": npy(np.arange(4, dtype=">f4")),
        "i8_v3.npy": npy(np.arange(3, dtype=np.int64), version=(3, 0)),
        "stored.npz": npz({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "dir/b": np.int32([1, 2])}),
        "deflated.npz": npz({"w": rng.standard_normal((8, 8)).astype(np.float32), "z": np.zeros(64, np.float32)}, True),
        "sizefield_lie_zip64.npz": one_member_zip("w.npy", npy_header([4]) + bytes(16), 3_000_000_000),
        "bomb_small_shape.npz": one_member_zip("w.npy", npy_header([4]) + bytes(1 << 20), len(npy_header([4])) + 16),
        "bomb_large_shape.npz": one_member_zip("w.npy", npy_header([1 << 28]) + bytes(1 << 20), len(npy_header([1 << 28])) + (4 << 28)),
        "bomb_true_shape.npz": one_member_zip("w.npy", npy_header([1 << 18]) + bytes(1 << 20), len(npy_header([1 << 18])) + (1 << 20)),
        "name_dotdot.npz": one_member_zip("../../x.npy", npy(np.float32([1])), len(npy(np.float32([1]))), method=0),
        "plain.safetensors": safetensors({"w": ("F32", rng.standard_normal((3, 2)).astype(np.float32)),
                                          "b": ("I64", np.arange(2, dtype=np.int64))}, {"format": "pt"}),
        "offsets_past_end.safetensors": safetensors({"w": ("F32", np.zeros(4, np.float32))})[:-8],
    }
    for path in sorted(glob.glob(os.path.join(HOSTILE, "*.npz"))):
        with open(path, "rb") as f:
            seeds["hostile_" + os.path.basename(path)] = f.read()
    for name, data in seeds.items():
        assert len(data) <= 65536, name
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("model    %3d seeds, %7d bytes" % (len(seeds), sum(len(d) for d in seeds.values())))


if __name__ == "__main__":
    main()
