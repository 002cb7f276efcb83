#!/usr/bin/env python3
"""Dump time against input size (issue 18 item 4): makes files of many tiny units and files with
long header lists at growing sizes, runs `nnr dump` on each in every format and prints the series.
Time per unit (or per list entry) stays flat when dumping is linear.

    Tools/dump_scaling.py [--nnr .build/release/nnr] [--formats text,json,xml] [--max 1000000]

Files: STR units (4 bytes each) after a valid NNR_STR/NNR_MPS, doubling up to --max units; one
NNR_TPL with topology_storage_format NNR_TPL_REFLIST (its count is an ue(7) that must end on a
byte boundary before the first st(v), so the list lengths are taken from 32642..65409 and
524162..1048449).
"""
import argparse, os, subprocess, sys, tempfile, time

PROLOGUE = bytes.fromhex("0004 0201 0008 0681 0040 0080".replace(" ", ""))  # NNR_STR (profile 1), NNR_MPS

def ue(v, k):
    w = v + (1 << k)
    n = w.bit_length()
    return "0" * (n - 1 - k) + bin(w)[2:]

def unit(type_code, body):
    size = len(body) + 5
    assert size < (1 << 31)
    head = (0x80000000 | size).to_bytes(4, "big")   # nnr_unit_size_flag = 1, 31-bit size
    return head + bytes([(type_code << 2) | 0b10]) + body

def many_units(n):
    one = bytes.fromhex("00040201")                    # NNR_STR, 4 bytes
    return PROLOGUE + one * n

def reflist(n):
    bits = ue(n - 2, 7)
    assert len(bits) % 8 == 0, "count_topology_elements_minus2 must end on a byte boundary"
    body = bytes([6, 0]) + bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    body += b"".join(b"t%d\0" % i for i in range(n))
    return PROLOGUE + unit(3, body)

def run(nnr, path, fmt):
    t0 = time.time()
    r = subprocess.run([nnr, "dump", "--format", fmt, path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.time() - t0, r.returncode

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnr", default=".build/release/nnr")
    ap.add_argument("--formats", default="text,json,xml")
    ap.add_argument("--max", type=int, default=1000000)
    a = ap.parse_args()
    formats = a.formats.split(",")
    series = []
    n = 15625
    while n <= a.max:
        series.append(("units", n, many_units(n)))
        n *= 2
    for n in (32642, 48000, 65000, 524162, 1048000):
        if n <= a.max:
            series.append(("reflist", n, reflist(n)))
    with tempfile.TemporaryDirectory() as d:
        print("%-8s %9s %10s  %s" % ("kind", "n", "bytes", "  ".join("%-22s" % f for f in formats)))
        for kind, n, data in series:
            path = os.path.join(d, "%s_%d.nnc" % (kind, n))
            open(path, "wb").write(data)
            cells = []
            for f in formats:
                t, rc = run(a.nnr, path, f)
                cells.append("%-22s" % ("%.2f s %.2f us/n rc=%d" % (t, t * 1e6 / n, rc)))
            print("%-8s %9d %10d  %s" % (kind, n, len(data), "  ".join(cells)), flush=True)

if __name__ == "__main__":
    main()
