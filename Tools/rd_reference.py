#!/usr/bin/env python3
"""NNCodec 2.1.3's rate-distortion sweep, as the CSV `nnr rd --reference` reads.

  $NNC_VENV/bin/python Tools/rd_reference.py MODEL.(npz|safetensors) --qp=-20:-40 [--dq on|off|both] -o ref.csv

For every weight QP (NNCodec's qp; its nonweight_qp default -75 for 1-D tensors) it runs
nnc.compress, decodes with nnc.decompress and writes one row per point:
curve,qp,bytes,bits_per_parameter,snr_db (bits over all float parameters; SNR over all float
tensors together, as `nnr rd` computes it).
"""
import argparse, os, sys, tempfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_encoders import load_safetensors, snr_db  # noqa: E402


def load_model(path):
    if path.endswith(".safetensors"):
        return load_safetensors(path)
    return {k: v for k, v in np.load(path).items() if v.dtype.kind == "f"}


def reference_point(params, qp, dq, tmp):
    """(bytes, bits per parameter, SNR dB) of NNCodec at this QP."""
    from nncodec import nnc
    path = os.path.join(tmp, "ref.nnc")
    nnc.compress({k: v.copy() for k, v in params.items()}, bitstream_path=path, qp=qp, use_dq=dq, verbose=False)
    rec = nnc.decompress(bytearray(open(path, "rb").read()), verbose=False)
    size = os.path.getsize(path)
    count = sum(v.size for v in params.values())
    return size, size * 8 / count, snr_db(params, rec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--qp", required=True, help="A:B inclusive, e.g. -20:-40")
    ap.add_argument("--dq", choices=["on", "off", "both"], default="on")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    a, b = (int(x) for x in args.qp.split(":"))
    qps = list(range(a, b - 1, -1)) if a >= b else list(range(a, b + 1))
    params = load_model(args.model)
    rows = ["curve,qp,bytes,bits_per_parameter,snr_db"]
    with tempfile.TemporaryDirectory() as tmp:
        for dq in {"on": [True], "off": [False], "both": [True, False]}[args.dq]:
            curve = f"NNCodec {'DQ' if dq else 'no DQ'}"
            for qp in qps:
                size, bpp, snr = reference_point(params, qp, dq, tmp)
                print(f"{curve} QP {qp}: {size} bytes, {bpp:.4f} bits/param, {snr:.3f} dB", file=sys.stderr)
                rows.append(f"{curve},{qp},{size},{bpp:.6f},{snr:.6f}")
    tmp_out = args.output + ".tmp"
    with open(tmp_out, "w") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(tmp_out, args.output)


if __name__ == "__main__":
    main()
