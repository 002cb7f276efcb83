#!/usr/bin/env python3
"""Federated-learning update benchmark and incremental interop with NNCodec 2.1.3.

  Tools/setup_nncodec.sh            # venv with nncodec==2.1.3 outside the repo (+ pip install zstandard)
  swift build -c release --product nnr
  $NNC_VENV/bin/python Tools/fl_benchmark.py [--fl ../shared/fl/digits_mlp] [--nnr .build/release/nnr]

For the FedAvg checkpoint sequence in ../shared/fl/digits_mlp (13 rounds) and for one generated
sequence it prints, per round and in total, the bytes of: float32; the quantized update (step 0 at
qp -32, later rounds r_k - r_(k-1) at qp -26, 1-D tensors at qp -75, nearest rounding, int32) under
bzip2 and zstd; NNCodec's encoder (nnc.compress per round, one approx_param_base, update_base_param,
compress_differences; no TCA, TCA, TCA+DQ); and `nnr encode --incremental` (closed loop: dense, TCA,
TCA+DQ, TCA+HDSP+DQ, HDSP+DQ, TCA+DQ with --sparsity 0.9; and with --open-loop and NNCodec's
settings, which codes the same update values as NNCodec), with the test accuracy of each final model
(FL data only).

Interop: every step of each of our sequences is decoded by NNCodec (nnc.decompress with one
approx_param_base carried from step to step, update_base_param=True, the HDSP tool where used) and
must equal `nnr decode` of the sequence tensor for tensor, byte for byte. The receiver's model is the
float32 running sum of the decoded steps.
"""
import argparse, bz2, json, os, struct, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QP0, QPU, QPNW = -32, -26, -75
# nnc.compress defaults: no row skipping, every value pseudo-coded for the estimator choice.
OPEN = ["--open-loop", "--no-row-skipping", "--param-opt-sample=0"]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dt = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    items = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
    out = {}
    for k, v in items:
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=dt[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype=np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_npz(path):
    z = np.load(path)
    return {k: z[k] for k in z.files}


def stepsize(qp, d=2):
    return np.float32((2 ** d + (qp & (2 ** d - 1))) * 2.0 ** ((qp >> d) - d))


def accuracy(W, test):
    if test is None:
        return None
    relu = lambda a: np.maximum(a, 0)
    x = test["X"].reshape(-1, 64)
    h = relu(x @ W["1.weight"].T + W["1.bias"]); h = relu(h @ W["3.weight"].T + W["3.bias"])
    return float(np.mean(np.argmax(h @ W["5.weight"].T + W["5.bias"], 1) == test["y"]))


def generated_sequence(rounds=8, seed=1):
    """A drifting 3-layer model: each round moves a random 30% of the weights a little."""
    rng = np.random.default_rng(seed)
    m = {"enc.weight": rng.normal(0, 0.05, (256, 192)).astype(np.float32),
         "enc.bias": rng.normal(0, 0.01, 256).astype(np.float32),
         "conv.weight": rng.normal(0, 0.1, (32, 16, 3, 3)).astype(np.float32),
         "head.weight": rng.normal(0, 0.05, (10, 256)).astype(np.float32)}
    seq = []
    for _ in range(rounds):
        seq.append({k: v.copy() for k, v in m.items()})
        for k, v in m.items():
            mask = rng.random(v.shape) < 0.3
            m[k] = (v + mask * rng.normal(0, 0.01, v.shape)).astype(np.float32)
    return seq


def quantized_update_sizes(seq):
    """bzip2/zstd bytes of the int32 nearest-rounded update per round (step 0: the model)."""
    try:
        import zstandard
        zc = zstandard.ZstdCompressor(level=19)
    except ImportError:
        zc = None
    out = []
    for k, m in enumerate(seq):
        blob = b""
        for name, v in m.items():
            d = v if k == 0 else v - seq[k - 1][name]
            qp = (QP0 if k == 0 else QPU) if v.ndim > 1 else QPNW
            blob += np.round(d / stepsize(qp)).astype(np.int32).tobytes()
        out.append((len(bz2.compress(blob, 9)), len(zc.compress(blob)) if zc else None))
    return out


def nncodec_sequence(seq, tca, dq):
    """NNCodec's bytes per round and its receiver's final model."""
    from nncodec import nnc
    enc_base = {"parameters": {}, "put_node_depth": {}, "device_id": 0, "parameter_id": {}}
    dec_base = {"parameters": {}, "put_node_depth": {}, "device_id": 0, "parameter_id": {}}
    sizes, model = [], None
    for k, m in enumerate(seq):
        params = m if k == 0 else {n: (v - seq[k - 1][n]).astype(np.float32) for n, v in m.items()}
        kw = dict(qp=QP0 if k == 0 else QPU, use_dq=dq, approx_param_base=enc_base, update_base_param=True,
                  return_bitstream=True, bitstream_path=None, verbose=False)
        if k > 0:
            kw.update(compress_differences=True, tca=tca)
        bs = nnc.compress(params, **kw)
        sizes.append(len(bs))
        dec = nnc.decompress(bytearray(bs), approx_param_base=dec_base, update_base_param=True)
        if k == 0:
            model = {n: np.asarray(v, dtype=np.float32) for n, v in dec.items()}
        else:
            for n, v in dec.items():
                model[n] = (model[n] + np.asarray(v, dtype=np.float32)).astype(np.float32)
    return sizes, model


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(" ".join(cmd) + "\n" + r.stderr)
    return r


def ours_sequence(nnr, files, flags, tmp, label, hdsp):
    """Encode with nnr, decode with nnr and with NNCodec; check interop; sizes and final model."""
    from nncodec import nnc
    from nncodec.nnc_core.hdsp.hdsp_tool import HdspTool
    out = os.path.join(tmp, label.replace(" ", "_").replace("+", "p").replace(".", ""))
    run([nnr, "encode", *files, "-o", out + "/", "--incremental", "-q", f"--qp={QP0}", f"--update-qp={QPU}", *flags])
    stems = [os.path.splitext(os.path.basename(f))[0] for f in files]
    streams = [os.path.join(out, s + ".nnr") for s in stems]
    run([nnr, "decode", *streams, "-o", out + "/dec/", "-q"])
    dec_base = {"parameters": {}, "put_node_depth": {}, "device_id": 0, "parameter_id": {}}
    tool = HdspTool(True) if hdsp else None
    mismatches, model, sizes = [], None, []
    for k, (s, stem) in enumerate(zip(streams, stems)):
        bs = bytearray(open(s, "rb").read())
        sizes.append(len(bs))
        theirs = nnc.decompress(bs, approx_param_base=dec_base, update_base_param=True, hdsp_tool=tool, return_hls=hdsp)
        if hdsp:
            theirs = theirs[0]
        mine = load_npz(os.path.join(out, "dec", stem + ".npz"))
        if set(theirs) != set(mine):
            mismatches.append(f"step {k}: tensors {sorted(theirs)} vs {sorted(mine)}")
        for n, v in mine.items():
            t = np.asarray(theirs.get(n))
            if t.dtype != v.dtype or t.shape != v.shape or t.tobytes() != v.tobytes():
                mismatches.append(f"step {k} {n}: differs")
        if k == 0:
            model = {n: v.astype(np.float32) for n, v in mine.items()}
        else:
            for n, v in mine.items():
                model[n] = (model[n] + v.astype(np.float32)).astype(np.float32)
    return sizes, model, mismatches


def benchmark(title, seq, files, nnr, test, tmp):
    print(f"\n## {title}: {len(seq)} rounds, {sum(v.size for v in seq[0].values()):,} parameters\n")
    rows = {}
    f32 = [sum(v.nbytes for v in m.values()) for m in seq]
    rows["float32"] = (f32, seq[-1])
    q = quantized_update_sizes(seq)
    rows["quantized update, bzip2"] = ([a for a, _ in q], None)
    if q[0][1] is not None:
        rows["quantized update, zstd -19"] = ([b for _, b in q], None)
    else:
        print("(python zstandard not installed: no zstd row)")
    for label, tca, dq in (("NNCodec, no TCA, no DQ", False, False), ("NNCodec, TCA", True, False), ("NNCodec, TCA + DQ", True, True)):
        rows[label] = nncodec_sequence(seq, tca, dq)
    interop = []
    for label, flags, hdsp in (("nnr, no TCA, no DQ", ["--no-dq"], False), ("nnr, TCA", ["--tca", "--no-dq"], False),
                               ("nnr, TCA + DQ", ["--tca"], False), ("nnr, TCA + HDSP + DQ", ["--tca", "--hdsp"], True),
                               ("nnr, HDSP + DQ", ["--hdsp"], True),
                               ("nnr, TCA + DQ, sparsity 0.9", ["--tca", "--sparsity=0.9"], False),
                               # NNCodec's settings and its open loop: the same update values as the NNCodec rows.
                               ("nnr open loop, no TCA, no DQ", OPEN + ["--no-dq"], False),
                               ("nnr open loop, TCA", OPEN + ["--tca", "--no-dq"], False),
                               ("nnr open loop, TCA + DQ", OPEN + ["--tca"], False)):
        sizes, model, bad = ours_sequence(nnr, files, flags, tmp, label, hdsp)
        rows[label] = (sizes, model)
        interop.append((label, len(seq), bad))
    n = len(seq)
    head = "| | " + " | ".join(f"r{k:02d}" for k in range(n)) + " | total | final accuracy |"
    print(head)
    print("|---|" + "---:|" * (n + 2))
    for label, (sizes, model) in rows.items():
        acc = accuracy(model, test) if model is not None else None
        print(f"| {label} | " + " | ".join(f"{s:,}" for s in sizes) + f" | **{sum(sizes):,}** | "
              + (f"{acc:.4f}" if acc is not None else "-") + " |")
    print()
    for label, steps, bad in interop:
        print(f"interop {label}: NNCodec decodes {steps - len({b.split(':')[0] for b in bad})}/{steps} steps to exactly what nnr decode gives"
              + ("" if not bad else "; " + "; ".join(bad[:5])))
    return rows, interop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fl", default=os.path.join(os.path.dirname(ROOT), "shared", "fl", "digits_mlp"))
    ap.add_argument("--nnr", default=os.path.join(ROOT, ".build", "release", "nnr"))
    ap.add_argument("--skip-generated", action="store_true")
    args = ap.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = sorted(os.path.join(args.fl, f) for f in os.listdir(args.fl) if f.endswith(".safetensors"))
        seq = [read_safetensors(f) for f in files]
        test = load_npz(os.path.join(args.fl, "test.npz"))
        _, interop = benchmark("FedAvg digits MLP (../shared/fl/digits_mlp)", seq, files, args.nnr, test, tmp)
        failures += sum(1 for _, _, bad in interop if bad)
        if not args.skip_generated:
            gen = generated_sequence()
            gfiles = []
            for k, m in enumerate(gen):
                p = os.path.join(tmp, f"g{k:02d}.safetensors")
                write_safetensors(p, m)
                gfiles.append(p)
            _, interop = benchmark("Generated sequence (3 layers, 30% of weights move per round)", gen, gfiles, args.nnr, None, tmp)
            failures += sum(1 for _, _, bad in interop if bad)
    print(f"\ninterop: {'all sequences match' if failures == 0 else f'{failures} sequence(s) differ'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
