#!/usr/bin/env python3
"""Makes the valid 'zero bomb' of issue 18 at other widths: ../shared/hostile/rowskip_valid_65536x4096.nnc
(65536 rows, every row skipped by row_skip_flag) with tensor_dimensions[1] re-written. The payload
codes one row_skip_flag per row, so it stays the same; only the NDU header grows.

    Tools/make_zero_bomb.py WIDTH OUT.nnc [IN.nnc]
    Tools/make_zero_bomb.py 32768 /tmp/rowskip_valid_65536x32768.nnc   # 2^31 zeros
"""
import sys

def ue(v, k):
    w = v + (1 << k)
    n = w.bit_length()
    return "0" * (n - 1 - k) + bin(w)[2:]

def main():
    width = int(sys.argv[1])
    out = sys.argv[2]
    src = sys.argv[3] if len(sys.argv) > 3 else "../shared/hostile/rowskip_valid_65536x4096.nnc"
    data = open(src, "rb").read()
    bits = "".join(f"{b:08b}" for b in data)
    ndu = 18                        # the NDU's first byte
    field = 30 * 8 + 4              # tensor_dimensions[1], ue(7), 18 bits (4096)
    assert bits[field:field + 18] == ue(4096, 7), "not the expected source file"
    rest = bits[field + 18:34 * 8 + 4]   # cabac_unary_length_minus1, first_tensor_dimension_shift, scan_order
    header = bits[ndu * 8:field] + ue(width, 7) + rest
    header += "1" + "0" * ((-len(header) - 1) % 8)   # byte_alignment()
    payload = data[35:]
    hb = bytes(int(header[i:i + 8], 2) for i in range(0, len(header), 8))
    unit = bytearray(hb + payload)
    size = len(unit)
    assert size < 32768
    unit[0] = size >> 8
    unit[1] = size & 0xFF
    open(out, "wb").write(data[:ndu] + bytes(unit))

if __name__ == "__main__":
    main()
