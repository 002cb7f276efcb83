#!/usr/bin/env python3
"""How few bits per parameter any NNR encoder can need for a whole-model SNR (issue 15).

  python3 Tools/rd_bound.py MODEL.(npz|safetensors) [--targets 20 30 40] [--reference ref.csv]

The decoder is fixed by the standard: scalar levels on a uniform grid (or the 8-state dependent
quantizer, dq_flag), context-adaptive binary arithmetic coding of each level in scan order. So the
encoder's freedom is bounded by rate-distortion theory:

* Shannon lower bound, one memoryless source per tensor: R_i(D) >= h_i - 1/2 log2(2 pi e D), h_i the
  differential entropy of the tensor's weights (histogram estimate, bins of 1/1000 of the
  tensor's RMS), D the mean squared error per weight. The whole-model bound is the reverse
  water-filling of these over the tensors for the noise budget sum(w^2) / 10^(SNR/10) (rate 0 and
  D_i = variance for tensors whose bound is <= 0 at the common D).
* The same with every row's RMS known to the decoder for free (each tensor as one normalised
  distribution scaled per row): what a coder that adapted perfectly to row-to-row scale changes could
  reach. It is a model estimate, not a strict bound.
* The 8-state quantizer's floor: entropy-coded 8-state trellis quantization stays about 0.5 dB from
  R(D) at all rates (granular gain 1.03 dB of the 1.53 dB a perfect vector quantizer has); its
  floor is the bound evaluated at SNR + 0.5 dB. Uniform scalar quantization (dq_flag 0) is 1.53 dB
  from it at high rate.

1-D tensors and tensors under 5000 weights (too few samples for a histogram) are counted with
the Gaussian rate 1/2 log2(variance / D) (an upper bound on their R(D); they are ~0.1% of MiniLM-L6).
With --reference (the CSV `rd_target_minilm.py --csv` / `rd_reference.py` write), NNCodec's bits at
each target (interpolated linearly in SNR, as rd_target_minilm.py does) and 97% of it are shown.
Bits per parameter count float parameters. Prints a Markdown table. Needs numpy only.
"""
import argparse, csv, math, os, sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rd_reference import load_model  # noqa: E402

LOG2_2PIE = math.log2(2 * math.pi * math.e)


def entropy(x, delta):
    """Differential entropy (bits) of the samples x from a histogram with bin width delta."""
    _, c = np.unique(np.round(x / delta).astype(np.int64), return_counts=True)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum()) + math.log2(delta)


def tensor_terms(params):
    """Per tensor: (count, variance, h iid, h with row scales), h None for small tensors."""
    out = []
    for v in params.values():
        w = v.astype(np.float64)
        var = float((w ** 2).mean())
        if w.ndim < 2 or w.size < 5000 or var == 0:
            out.append((w.size, var, None, None))
            continue
        w = w.reshape(w.shape[0], -1)
        delta = 1e-3 * math.sqrt(var)
        h = entropy(w.ravel(), delta)
        s = np.sqrt((w ** 2).mean(axis=1, keepdims=True))
        s[s == 0] = 1.0
        h_rows = entropy((w / s).ravel(), delta / math.sqrt(var)) + float(np.log2(s).mean())
        out.append((w.size, var, h, h_rows))
    return out


def bound_bits(terms, budget, row_scaled):
    """Reverse water-filling of the per-tensor lower bounds: total bits for sum of squared errors <= budget."""
    def rate(n, var, h, hr, theta):
        if theta >= var:
            return 0.0, n * var
        hh = hr if row_scaled else h
        r = 0.5 * math.log2(var / theta) if hh is None else hh - 0.5 * (LOG2_2PIE + math.log2(theta))
        return (n * r, n * theta) if r > 0 else (0.0, n * var)

    lo, hi = -80.0, 10.0  # log2 theta
    for _ in range(200):
        mid = (lo + hi) / 2
        noise = sum(rate(*t, 2 ** mid)[1] for t in terms)
        lo, hi = (mid, hi) if noise <= budget else (lo, mid)
    return sum(rate(*t, 2 ** lo)[0] for t in terms)


def reference_bits(path, target):
    rows = [r for r in csv.DictReader(open(path)) if r["curve"] == "NNCodec DQ"]
    pts = sorted((float(r["snr_db"]), float(r["bits_per_parameter"])) for r in rows)
    for (s0, b0), (s1, b1) in zip(pts, pts[1:]):
        if s0 <= target <= s1:
            return b0 + (target - s0) / (s1 - s0) * (b1 - b0)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--targets", nargs="*", type=float, default=[20.0, 30.0, 40.0])
    ap.add_argument("--reference")
    args = ap.parse_args()
    params = load_model(args.model)
    count = sum(v.size for v in params.values())
    signal = sum(float((v.astype(np.float64) ** 2).sum()) for v in params.values())
    terms = tensor_terms(params)
    head = "| target dB | Shannon bound, memoryless | same, row scales known | 8-state DQ floor (bound at +0.5 dB) | same, row scales known |"
    sep = "|---:|---:|---:|---:|---:|"
    if args.reference:
        head += " NNCodec DQ (interp.) | 97% of NNCodec |"
        sep += "---:|---:|"
    print(head)
    print(sep)
    for t in args.targets:
        cells = []
        for snr in (t, t + 0.5):
            budget = signal / 10 ** (snr / 10)
            cells += [bound_bits(terms, budget, False) / count, bound_bits(terms, budget, True) / count]
        line = f"| {t:g} | " + " | ".join(f"{c:.4f}" for c in cells) + " |"
        if args.reference:
            ref = reference_bits(args.reference, t)
            line += f" {ref:.4f} | {0.97 * ref:.4f} |" if ref is not None else " – | – |"
        print(line)


if __name__ == "__main__":
    main()
