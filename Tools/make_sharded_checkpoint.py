#!/usr/bin/env python3
"""Make a synthetic LLM-shaped Hugging Face checkpoint: BF16 safetensors shards plus
model.safetensors.index.json, for tests and benchmarks of large-model encode and decode.

Weights are normal (std 0.02) with a few large outliers per tensor (as real LLM weights have);
norms are ones plus small noise. The layout is a decoder-only transformer: embedding, layers of
attention (q, k, v, o) and MLP (gate, up, down) projections with two RMS norms, final norm and
LM head, cut when the parameter count is reached.

  python3 Tools/make_sharded_checkpoint.py --params 1.14e9 --shards 4 --out /tmp/llm-1b
      (hidden 4096, intermediate 8192: largest tensor 8192x4096, 2.28 GB)
  python3 Tools/make_sharded_checkpoint.py --params 140e6 --shards 2 --out /tmp/llm-140m

Needs numpy only; the safetensors format (u64 header length, JSON header, data) is written here.
"""
import argparse
import json
import os
import sys

import numpy as np


def bf16_bits(x):
    """float32 array -> uint16 bfloat16 bit patterns (round to nearest, ties to even)."""
    u = x.astype(np.float32).view(np.uint32)
    u = u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))
    return (u >> np.uint32(16)).astype(np.uint16)


def layout(params, hidden, intermediate, vocab):
    """(name, shape) of each tensor, in model order, until `params` is reached."""
    out = [("model.embed_tokens.weight", (vocab, hidden))]
    total = vocab * hidden
    tail = [("model.norm.weight", (hidden,)), ("lm_head.weight", (vocab, hidden))]
    tail_size = hidden + vocab * hidden
    layer = 0
    while True:
        p = f"model.layers.{layer}."
        block = [
            (p + "input_layernorm.weight", (hidden,)),
            (p + "self_attn.q_proj.weight", (hidden, hidden)),
            (p + "self_attn.k_proj.weight", (hidden, hidden)),
            (p + "self_attn.v_proj.weight", (hidden, hidden)),
            (p + "self_attn.o_proj.weight", (hidden, hidden)),
            (p + "post_attention_layernorm.weight", (hidden,)),
            (p + "mlp.gate_proj.weight", (intermediate, hidden)),
            (p + "mlp.up_proj.weight", (intermediate, hidden)),
            (p + "mlp.down_proj.weight", (hidden, intermediate)),
        ]
        added = False
        for name, shape in block:
            n = int(np.prod(shape))
            # Add a tensor while it brings the count closer to the target.
            if total + tail_size + n / 2 > params:
                break
            out.append((name, shape))
            total += n
            added = True
        else:
            layer += 1
            continue
        break
    if not added and layer == 0 and total + tail_size > params:
        pass  # tiny targets: embedding + head only
    return out + tail


def tensor_values(rng, name, shape, outliers):
    n = int(np.prod(shape))
    if len(shape) == 1:
        return (1.0 + 0.05 * rng.standard_normal(n, dtype=np.float32)).reshape(shape)
    v = 0.02 * rng.standard_normal(n, dtype=np.float32)
    idx = rng.integers(0, n, size=outliers)
    v[idx] = rng.choice([-1.0, 1.0], size=outliers).astype(np.float32) * rng.uniform(0.5, 8.0, size=outliers).astype(np.float32)
    return v.reshape(shape)


def write_shard(path, names_shapes, rng, outliers):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in names_shapes:
        size = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name, shape in names_shapes:
            f.write(bf16_bits(tensor_values(rng, name, shape, outliers)).tobytes())
    os.replace(tmp, path)
    return offset


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", type=float, required=True, help="parameter count, e.g. 1.14e9")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--hidden", type=int, help="hidden size (default 4096 from 5e8 parameters, else 1024)")
    ap.add_argument("--intermediate", type=int, help="MLP size (default 2x hidden from 5e8 parameters, else 4x)")
    ap.add_argument("--vocab", type=int, help="vocabulary (default: the intermediate size)")
    ap.add_argument("--outliers", type=int, default=8, help="large outliers per weight tensor")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    big = a.params >= 5e8
    hidden = a.hidden or (4096 if big else 1024)
    inter = a.intermediate or (2 * hidden if big else 4 * hidden)
    vocab = a.vocab or inter
    tensors = layout(a.params, hidden, inter, vocab)
    total = sum(int(np.prod(s)) for _, s in tensors)
    nshards = max(1, min(a.shards, len(tensors)))
    target = total / nshards
    groups, cur, size = [], [], 0
    for t in tensors:
        n = int(np.prod(t[1]))
        if cur and size + n / 2 > target and len(groups) < nshards - 1:
            groups.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += n
    groups.append(cur)
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    weight_map, total_size = {}, 0
    for i, g in enumerate(groups):
        fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        total_size += write_shard(os.path.join(a.out, fname), g, rng, a.outliers)
        for name, _ in g:
            weight_map[name] = fname
    index = {"metadata": {"total_size": total_size}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    largest = max(tensors, key=lambda t: int(np.prod(t[1])))
    print(f"{a.out}: {total} parameters ({total_size} bytes BF16) in {len(tensors)} tensors, "
          f"{len(groups)} shards, largest {largest[0]} {'x'.join(map(str, largest[1]))}", file=sys.stderr)


if __name__ == "__main__":
    main()
