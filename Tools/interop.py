#!/usr/bin/env python3
"""Interop: swift-nnr encodes, NNCodec 2.1.3 decodes, and both decoders must agree bit for bit.

  Tools/setup_nncodec.sh                 # venv with nncodec==2.1.3 outside the repo
  swift build -c release --product nnr
  $NNC_VENV/bin/python Tools/interop.py [--shared ../shared/conformance] [--nnr .build/release/nnr]

For every public input.npz (non-incremental cases) it encodes with our encoder at the case's
own settings, with --blocks, and at qp -20/-32/-38 with and without DQ, decodes with NNCodec
(nnc.decompress) and with `nnr decode`, and compares every tensor (dtype, shape, bytes).
Prints one line per run and a final "N passed, M failed" line.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def case_settings(case_dir):
    info = json.load(open(os.path.join(case_dir, "case.json")))
    if info.get("steps"):
        return None
    cfg = info.get("config", {})
    args = cfg.get("args") or cfg.get("kwargs") or {}
    flags = []
    for key in ("bitdepth", "opt_qp", "sparsity", "compress_model_kwargs", "ioq"):
        if key in args:
            return []  # settings we do not reproduce; the qp/dq sweep still runs
    if "qp" in args: flags.append(f"--qp={args['qp']}")
    if "qp_density" in args: flags.append(f"--qp-density={args['qp_density']}")
    if "nonweight_qp" in args: flags.append(f"--nonweight-qp={args['nonweight_qp']}")
    if args.get("use_dq") is False: flags.append("--no-dq")
    if args.get("param_opt") is False: flags.append("--no-param-opt")
    if "scan_order" in args: flags.append(f"--scan-order={args['scan_order']}")
    if args.get("row_skipping") is False: flags.append("--no-row-skipping")
    if "cabac_unary_length_minus1" in args: flags.append(f"--unary-length-minus1={args['cabac_unary_length_minus1']}")
    for name, qp in (args.get("qp_per_tensor") or {}).items(): flags.append(f"--qp-for={name}={qp}")
    if args.get("approx_method") == "codebook": flags.append("--codebook=auto")
    return flags


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared", "conformance"))
    ap.add_argument("--nnr", default=os.path.join(ROOT, ".build", "release", "nnr"))
    ap.add_argument("--cases", nargs="*")
    args = ap.parse_args()
    from nncodec import nnc
    cases = args.cases or sorted(d for d in os.listdir(args.shared) if os.path.isfile(os.path.join(args.shared, d, "case.json")))
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            cdir = os.path.join(args.shared, case)
            own = case_settings(cdir)
            if own is None:
                continue
            runs = [("case settings", own)] if own else []
            # NNR_PT_BLOCK units (weight + bias + batch norm) wherever the names allow a block.
            runs.append(("blocks", (own or []) + ["--blocks"]))
            for qp in (-20, -32, -38):
                for dq in (True, False):
                    runs.append((f"qp {qp} {'dq' if dq else 'no-dq'}", [f"--qp={qp}"] + ([] if dq else ["--no-dq"])))
            for label, flags in runs:
                nnr_file = os.path.join(tmp, "x.nnr")
                ours_npz = os.path.join(tmp, "x.npz")
                try:
                    subprocess.run([args.nnr, "encode", os.path.join(cdir, "input.npz"), "-o", nnr_file, "-q"] + flags,
                                   check=True, capture_output=True)
                    subprocess.run([args.nnr, "decode", nnr_file, "-o", ours_npz, "-q"], check=True, capture_output=True)
                    theirs = nnc.decompress(bytearray(open(nnr_file, "rb").read()), verbose=False)
                    ours = np.load(ours_npz)
                    ok = set(ours.files) == set(theirs.keys())
                    for k in ours.files:
                        t = np.asarray(theirs[k])
                        ok = ok and t.dtype == ours[k].dtype and t.shape == ours[k].shape and t.tobytes() == ours[k].tobytes()
                except subprocess.CalledProcessError as e:
                    ok = False
                    print(f"  {case} {label}: nnr failed: {e.stderr.decode(errors='replace')[:300]}")
                except Exception as e:  # NNCodec could not decode our file
                    ok = False
                    print(f"  {case} {label}: NNCodec failed: {e}")
                print(f"{'ok  ' if ok else 'FAIL'} {case:40} {label:16} {os.path.getsize(nnr_file) if os.path.exists(nnr_file) else 0} bytes")
                passed += ok
                failed += not ok
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
