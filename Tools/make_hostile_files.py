#!/usr/bin/env python3
"""Writes fresh hostile inputs of the kinds in issue 18 into a directory (default: a new temp dir;
the path is printed). Used by Tools/hostile_check.sh.

    python3 Tools/make_hostile_files.py [OUTDIR]

Model files (for `nnr encode`):
  npz_lie32_4GB.npz       32-bit size field claims 4,000,000,000 bytes for an 80-byte member
  npz_lie64_4EB.npz       ZIP64 size field claims 2^62 bytes
  npz_bomb_small_shape.npz  256 MiB of zeros deflated (~256 KB) behind an NPY header for 4 floats
  npz_bomb_large_shape.npz  the same stream, NPY header and directory claiming 2^33 floats
  npz_bomb_true_3GB.npz   3 GiB of zeros (~3 MB deflated) whose NPY header and directory agree:
                          a real tensor too large for a 2 GB address space
  npz_name_dotdot.npz     a member named ../../../x.npy (reading it is harmless; decoding the
                          bitstream made from it must refuse the name)
  safetensors_lie.safetensors  header length 2^60; and offsets past the file
Bitstreams (for decode, check, dump):
  agg_declares2_holds1M.nnc  one NNR_AGG declaring 2 units and carrying 1,000,000 NNR_STR units
  agg_17x65537.nnc        17 NNR_AGG units of 65,537 units each: 1,114,146 units in the file
  many_tpl_1100000.nnc    1,100,000 small NNR_TPL units
  name_absolute.nnc, name_backslash.nnc, name_empty.nnc  name_dotdot.nnc with other unsafe names
"""
import os, struct, sys, tempfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_HOSTILE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "hostile")

STR = bytes([0x00, 0x04, 0x02, 0x01])          # a 4-byte NNR_STR unit
TPL = bytes([0x00, 0x06, 0x0E, 0x00, 0x00, 0x00])  # a 6-byte NNR_TPL unit


def npy_header(shape):
    body = ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (str(tuple(shape)),)).encode()
    body += b" " * ((64 - (10 + len(body) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def zip_one(name, data, crc, declared, method=8):
    """A one-member ZIP archive; the directory declares `declared` uncompressed bytes (ZIP64 if needed)."""
    zip64 = declared >= 0xFFFFFFFF
    n = name.encode()
    usize = 0xFFFFFFFF if zip64 else declared
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc, len(data), usize, len(n), 0) + n + data
    extra = struct.pack("<HHQ", 1, 8, declared) if zip64 else b""
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21, crc, len(data), usize,
                          len(n), len(extra), 0, 0, 0, 0, 0) + n + extra
    return local + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)


def zero_stream(header, mib):
    """Raw deflate of header + mib MiB of zeros, built from one flushed 1 MiB block repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    out = [c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)]
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    out.append(block * mib)
    out.append(c.flush(zlib.Z_FINISH))
    crc = zlib.crc32(header)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return b"".join(out), crc


def long_unit(type_, body):
    size = 4 + 1 + len(body)
    return struct.pack(">I", 0x80000000 | size) + bytes([(type_ << 2) | 2]) + body


def agg(declared, children):
    m = declared - 2
    header = bytes([0x00, (m >> 9) & 0x7F, (m >> 1) & 0xFF, (m & 1) << 7])
    return long_unit(6, header + children)


def rename(stream, old, new):
    """name_dotdot.nnc with its tensor name replaced (the NDU's 16-bit size adjusted)."""
    i = stream.index(old + b"\0")
    start = stream.rindex(b"\x16", 0, i) - 2  # the NDU: 2-byte size, then type byte 0x16
    size = struct.unpack(">H", stream[start:start + 2])[0] + len(new) - len(old)
    out = stream[:start] + struct.pack(">H", size) + stream[start + 2:i] + new + stream[i + len(old):]
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="nnr-hostile-")
    os.makedirs(out, exist_ok=True)
    files = {}
    small = npy_header([4]) + bytes(16)
    files["npz_lie32_4GB.npz"] = zip_one("w.npy", zlib.compress(small)[2:-4], zlib.crc32(small), 4_000_000_000)
    files["npz_lie64_4EB.npz"] = zip_one("w.npy", zlib.compress(small)[2:-4], zlib.crc32(small), 1 << 62)
    stream, crc = zero_stream(npy_header([4]), 256)
    files["npz_bomb_small_shape.npz"] = zip_one("w.npy", stream, crc, len(npy_header([4])) + 16)
    big = npy_header([1 << 33])
    stream, crc = zero_stream(big, 256)
    files["npz_bomb_large_shape.npz"] = zip_one("w.npy", stream, crc, len(big) + (4 << 33))
    hdr = npy_header([3 << 28])
    stream, crc = zero_stream(hdr, 3 << 10)
    files["npz_bomb_true_3GB.npz"] = zip_one("w.npy", stream, crc, len(hdr) + (3 << 30))
    member = npy_header([1]) + struct.pack("<f", 1.0)
    files["npz_name_dotdot.npz"] = zip_one("../../../x.npy", member, zlib.crc32(member), len(member), method=0)
    files["safetensors_lie.safetensors"] = struct.pack("<Q", 1 << 60) + b"{}"
    h = b'{"w":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}}'
    files["safetensors_offsets.safetensors"] = struct.pack("<Q", len(h)) + h + bytes(4)
    files["agg_declares2_holds1M.nnc"] = agg(2, STR * 1_000_000)
    files["agg_17x65537.nnc"] = agg(65537, STR * 65537) * 17
    files["many_tpl_1100000.nnc"] = TPL * 1_100_000
    dotdot_path = os.path.join(SHARED_HOSTILE, "name_dotdot.nnc")
    if os.path.exists(dotdot_path):
        dotdot = open(dotdot_path, "rb").read()
        old = b"../../../../etc/x/evil1"
        files["name_absolute.nnc"] = rename(dotdot, old, b"/tmp/nnr-hostile-evil")
        files["name_backslash.nnc"] = rename(dotdot, old, b"..\\..\\..\\..\\etc\\x\\evil1")
        files["name_empty.nnc"] = rename(dotdot, old, b"")
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(out)


if __name__ == "__main__":
    main()
