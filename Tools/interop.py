#!/usr/bin/env python3
"""Interop: swift-nnr encodes, NNCodec 2.1.3 decodes, and both decoders must agree bit for bit.

  Tools/setup_nncodec.sh                 # venv with nncodec==2.1.3 outside the repo
  swift build -c release --product nnr
  $NNC_VENV/bin/python Tools/interop.py [--shared ../shared/conformance] [--nnr .build/release/nnr]
  $NNC_VENV/bin/python Tools/interop.py --long-headers [--nnr ...]

For every public input.npz (non-incremental cases) it encodes with our encoder at the case's
own settings, with --blocks, and at qp -20/-32/-38 with and without DQ, decodes with NNCodec
(nnc.decompress) and with `nnr decode`, and compares every tensor (dtype, shape, bytes).
Prints one line per run and a final "N passed, M failed" line.

--long-headers runs the same comparison on tensors whose NDU headers are longer than the
parser's first 4 KiB probe (issue 18): 32000x64 at scan order 1 (3999 entry points), 128000x16
at scan order 2 (7999), and 100,000 distinct levels coded with a codebook (codebook_size 100,000).
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


def long_header_runs(tmp):
    """(label, input.npz, flags) of the long-header cases, written into tmp."""
    rng = np.random.default_rng(18)
    n = 100_000
    levels = (np.arange(n) * 7919) % n - n // 2
    cases = [
        ("32000x64 scan order 1", (rng.standard_normal((32000, 64)) * 0.05).astype(np.float32), ["--scan-order=1", "--qp=-32"]),
        ("128000x16 scan order 2", (rng.standard_normal((128000, 16)) * 0.05).astype(np.float32), ["--scan-order=2", "--qp=-32"]),
        ("codebook of 100000", (levels.astype(np.float32) * 2.0 ** -8).reshape(n // 100, 100), ["--codebook=always", "--qp=-32", "--no-dq"]),
    ]
    for i, (label, array, flags) in enumerate(cases):
        src = os.path.join(tmp, f"long{i}.npz")
        np.savez(src, **{"embed.weight": array})
        yield label, src, flags


def compare(nnr, nnc, src, flags, tmp, label):
    """Encodes src with nnr, decodes with both decoders; True when every tensor is identical."""
    nnr_file = os.path.join(tmp, "x.nnr")
    ours_npz = os.path.join(tmp, "x.npz")
    try:
        subprocess.run([nnr, "encode", src, "-o", nnr_file, "-q"] + flags, check=True, capture_output=True)
        subprocess.run([nnr, "decode", nnr_file, "-o", ours_npz, "-q"], check=True, capture_output=True)
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
        print(f"  {label}: NNCodec failed: {e}"[:400])
    print(f"{'ok  ' if ok else 'FAIL'} {label:57} {os.path.getsize(nnr_file) if os.path.exists(nnr_file) else 0} bytes")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared", "conformance"))
    ap.add_argument("--nnr", default=os.path.join(ROOT, ".build", "release", "nnr"))
    ap.add_argument("--cases", nargs="*")
    ap.add_argument("--long-headers", action="store_true")
    args = ap.parse_args()
    from nncodec import nnc
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        if args.long_headers:
            runs = list(long_header_runs(tmp))
        else:
            cases = args.cases or sorted(d for d in os.listdir(args.shared) if os.path.isfile(os.path.join(args.shared, d, "case.json")))
            for case in cases:
                cdir = os.path.join(args.shared, case)
                own = case_settings(cdir)
                if own is None:
                    continue
                src = os.path.join(cdir, "input.npz")
                runs += [(f"{case:40} case settings", src, own)] if own else []
                # NNR_PT_BLOCK units (weight + bias + batch norm) wherever the names allow a block.
                runs.append((f"{case:40} blocks", src, (own or []) + ["--blocks"]))
                for qp in (-20, -32, -38):
                    for dq in (True, False):
                        runs.append((f"{case:40} qp {qp} {'dq' if dq else 'no-dq'}", src,
                                     [f"--qp={qp}"] + ([] if dq else ["--no-dq"])))
        for label, src, flags in runs:
            ok = compare(args.nnr, nnc, src, flags, tmp, label)
            passed += ok
            failed += not ok
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
