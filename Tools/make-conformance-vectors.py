#!/usr/bin/env python3
"""Regenerates the positive conformance vectors under Conformance/vectors/.

Two kinds of cases:

* "copied": a curated set of small public reference vectors made with NNCodec 2.1.3, copied
  from ../shared/conformance/<case>/ (bitstream.nnc or step<k>.nnc, and the matching
  decoded.npz files NNCodec's own decoder wrote). Their SHA-256 sums are checked against the
  case's case.json before copying.
* "generated": small cases made here with NNCodec 2.1.3 (fixed seeds) for features the small
  public vectors lack: block scan orders with CABAC entry points, and short incremental
  sequences with temporal context adaptation (TCA) and HDSP. decoded.npz is what
  nncodec.nnc.decompress returns for the bitstream (state carried across steps).

Each case folder gets a vector.json (what it exercises, where it came from). The manifest
(Conformance/manifest.json) and the negative vectors are written by the Swift test generator:
    NNR_REGENERATE=1 swift test --filter NNRToolsTests.ConformanceSuiteGeneratorTests

Run through Tools/make-conformance-vectors.sh, which makes a virtual environment outside the
repository with nncodec==2.1.3 and numpy 1.26. Nothing in the test suite needs Python.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import zipfile

import numpy as np

NNCODEC_VERSION = "2.1.3"

# Curated public cases (small: bitstreams plus decoded tensors of roughly 100 KB or less).
COPIED = {
    "t_tiny_1x1": ["tiny 2-D tensor [1,1]", "NNR_PT_FLOAT", "uniform", "dq", "profile1"],
    "t_tiny_1": ["tiny 1-D tensor [1]", "NNR_PT_FLOAT", "uniform", "dq", "nonweight_qp"],
    "t1d_bias512_qp-32": ["1-D tensor", "NNR_PT_FLOAT", "uniform", "dq", "qp_per_tensor"],
    "t2d_allzero_64x64": ["all-zero tensor", "row_skip", "NNR_PT_FLOAT", "dq"],
    "t_int16_signed_64x48": ["NNR_PT_INT", "int32 output", "row_skip"],
    "t_uint8_3x3x32x32": ["NNR_PT_INT", "int32 output", "4-D"],
    "t2d_single_row_1x4096": ["single-row tensor", "NNR_PT_FLOAT", "dq"],
    "t3d_odd37x53x5": ["3-D tensor", "odd dimensions", "NNR_PT_FLOAT", "dq"],
    "t4d_conv64x32x3x3_dq": ["4-D tensor", "NNR_PT_FLOAT", "uniform", "dq"],
    "t4d_conv64x32x3x3_qp-26_nodq": ["4-D tensor", "NNR_PT_FLOAT", "uniform", "no dq"],
    "t2d_codebook_clustered": ["codebook", "float64 output", "NNR_PT_FLOAT", "no dq"],
    "m_dict_small_codebook": ["whole model", "codebook", "float64 output", "uniform", "dq"],
    "m_dict_small_qp-32": ["whole model", "NNR_PT_FLOAT", "uniform", "dq", "nonweight_qp"],
    "m_dict_small_optqp": ["whole model", "per-tensor qp_offset", "dq"],
    "m_dict_small_bitdepth8": ["whole model", "bit-depth aligned QPs", "dq"],
    "m_torch_smallcnn": ["whole model", "PyTorch topology", "dq"],
    "m_torch_smallcnn_blocks": ["NNR_PT_BLOCK", "weight+bias+batch-norm blocks", "dq"],
    "c_multi_tensor_dict": ["whole model", "NNR_PT_FLOAT", "NNR_PT_INT", "dq"],
    "c_scan_order1_dq": ["scan_order 1", "entry points", "dq", "row_skip"],
    "inc_model_diff_tca_skipped_ndu": ["incremental", "TCA", "skipped NDU", "parent signalling", "dq"],
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def npz_bytes(tensors):
    """An uncompressed (stored) .npz of the tensors, in the given order, with fixed zip
    timestamps so that regenerating gives the same bytes (np.savez stamps the current time)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, arr in tensors.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(arr), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), npy.getvalue())
    return buf.getvalue()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def copy_case(shared, out_root, name, features):
    src = os.path.join(shared, name)
    info = json.load(open(os.path.join(src, "case.json")))
    dst = os.path.join(out_root, name)
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    steps = info.get("steps") or []
    files = []
    if steps and os.path.exists(os.path.join(src, "step0.nnc")):
        for k, step in enumerate(steps):
            bs = open(os.path.join(src, "step%d.nnc" % k), "rb").read()
            assert sha256(bs) == step["sha256"], "%s step %d: bitstream sha256 differs from case.json" % (name, k)
            files += ["step%d.nnc" % k, "step%d_decoded.npz" % k]
    else:
        bs = open(os.path.join(src, "bitstream.nnc"), "rb").read()
        assert sha256(bs) == info["sha256"], "%s: bitstream sha256 differs from case.json" % name
        files += ["bitstream.nnc", "decoded.npz"]
    for f in files:
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    meta = {
        "name": name,
        "what": info.get("what", ""),
        "features": features,
        "origin": "copied from the public reference vectors (../shared/conformance/%s), made with NNCodec %s"
                  % (name, info.get("nncodec_version", NNCODEC_VERSION)),
    }
    write(os.path.join(dst, "vector.json"), (json.dumps(meta, indent=1) + "\n").encode())
    print("copied", name)


# ---------------------------------------------------------------------------------------------
# Generated cases

def new_base():
    return {"parameters": {}, "put_node_depth": {}, "device_id": 0, "parameter_id": {}}


def gen_single(nnc, out_root, name, what, features, tensors, **kw):
    bs = nnc.compress(tensors, bitstream_path=None, return_bitstream=True, verbose=False, **kw)
    dec = nnc.decompress(bytearray(bs), verbose=False)
    dst = os.path.join(out_root, name)
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    write(os.path.join(dst, "bitstream.nnc"), bytes(bs))
    write(os.path.join(dst, "decoded.npz"), npz_bytes({k: np.asarray(dec[k]) for k in tensors if k in dec}))
    meta = {"name": name, "what": what, "features": features,
            "origin": "generated by Tools/make-conformance-vectors.py with NNCodec %s (nncodec.nnc.compress / decompress, "
                      "numpy default_rng seeds in the script)" % NNCODEC_VERSION,
            "settings": {k: v for k, v in kw.items()}}
    write(os.path.join(dst, "vector.json"), (json.dumps(meta, indent=1) + "\n").encode())
    print("generated", name, len(bs), "bytes")


def gen_sequence(nnc, HdspTool, out_root, name, what, features, steps, use_hdsp):
    """steps: list of (tensors, kwargs). Encoder and decoder each carry their own base dict (TCA
    context, put_node_depth) and, with use_hdsp, their own HdspTool."""
    enc_base, dec_base = new_base(), new_base()
    enc_hdsp = HdspTool(True) if use_hdsp else None
    dec_hdsp = HdspTool(True) if use_hdsp else None
    dst = os.path.join(out_root, name)
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    settings = []
    for k, (tensors, kw) in enumerate(steps):
        bs = nnc.compress(tensors, bitstream_path=None, return_bitstream=True, verbose=False,
                          approx_param_base=enc_base, update_base_param=True, hdsp_tool=enc_hdsp, **kw)
        if use_hdsp:
            dec, _ = nnc.decompress(bytearray(bs), verbose=False, approx_param_base=dec_base, update_base_param=True,
                                    hdsp_tool=dec_hdsp, return_hls=True)
        else:
            dec = nnc.decompress(bytearray(bs), verbose=False, approx_param_base=dec_base, update_base_param=True)
        write(os.path.join(dst, "step%d.nnc" % k), bytes(bs))
        write(os.path.join(dst, "step%d_decoded.npz" % k),
              npz_bytes({n: np.asarray(dec[n]) for n in tensors if n in dec}))
        settings.append(dict(kw, hdsp_tool="HdspTool(True)" if use_hdsp else None))
        print("generated", name, "step", k, len(bs), "bytes")
    meta = {"name": name, "what": what, "features": features,
            "origin": "generated by Tools/make-conformance-vectors.py with NNCodec %s (nncodec.nnc.compress / decompress "
                      "with approx_param_base and update_base_param=True, state carried step to step)" % NNCODEC_VERSION,
            "settings": settings}
    write(os.path.join(dst, "vector.json"), (json.dumps(meta, indent=1) + "\n").encode())


def generate(out_root):
    from nncodec import nnc
    from nncodec.nnc_core.hdsp.hdsp_tool import HdspTool

    rng = np.random.default_rng(20240611)
    w = (rng.standard_normal((64, 40)) * 0.05).astype(np.float32)
    gen_single(nnc, out_root, "gen_scan_order1_dq_64x40",
               "64x40 tensor, scan_order 1 (8x8 blocks, 8 block rows, 7 entry points with ep_dq_state), qp -32, DQ",
               ["scan_order 1", "entry points", "ep_dq_state", "dq", "NNR_PT_FLOAT"],
               {"w": w}, qp=-32, use_dq=True, scan_order=1)

    rng = np.random.default_rng(20240612)
    w = (rng.standard_normal((72, 48)) * 0.05).astype(np.float32)
    w[::5, :] = 0.0
    gen_single(nnc, out_root, "gen_scan_order2_nodq_rowskip_72x48",
               "72x48 tensor with every 5th row zero, scan_order 2 (16x16 blocks, 5 block rows), row skipping, no DQ, qp -30",
               ["scan_order 2", "entry points", "row_skip", "no dq", "NNR_PT_FLOAT"],
               {"w": w}, qp=-30, use_dq=False, scan_order=2, row_skipping=True)

    rng = np.random.default_rng(20240613)
    c = (rng.standard_normal((24, 8, 3, 3)) * 0.05).astype(np.float32)
    gen_single(nnc, out_root, "gen_scan_order1_conv24x8x3x3",
               "4-D 24x8x3x3 tensor (24x72 matrix), scan_order 1 (3 block rows), qp -34, DQ",
               ["scan_order 1", "entry points", "4-D", "dq"],
               {"conv.weight": c}, qp=-34, use_dq=True, scan_order=1)

    # Incremental: a base tensor, then coded differences (the same 50% mask each step) with the
    # HDSP tool. NNCodec's encoder picks HDSP per NDU by size; these settings make it pick HDSP in
    # every update without TCA, and in the first update with TCA.
    rng = np.random.default_rng(7)
    t0 = (rng.standard_normal((48, 32)) * 0.05).astype(np.float32)
    d = ((rng.random((48, 32)) < 0.5) * 0.01).astype(np.float32)
    gen_sequence(nnc, HdspTool, out_root, "gen_inc_hdsp_48x32",
                 "48x32 base tensor then three coded differences (+0.01 on the same 50% mask) with the HDSP tool "
                 "(hist_dep_sig_prob_enabled_flag = 1 in every update), qp -32, DQ",
                 ["incremental", "HDSP", "parent signalling", "dq"],
                 [({"w": t0}, dict(qp=-32, use_dq=True, pre_signalling=True))]
                 + [({"w": d}, dict(qp=-32, use_dq=True, compress_differences=True, tca=False))] * 3,
                 use_hdsp=True)
    gen_sequence(nnc, HdspTool, out_root, "gen_inc_tca_hdsp_48x32",
                 "48x32 base tensor then two coded differences (+0.01 on the same 50% mask) with TCA and the HDSP tool "
                 "(first update: TCA and HDSP, second: TCA only), qp -32, DQ",
                 ["incremental", "TCA", "HDSP", "parent signalling", "dq"],
                 [({"w": t0}, dict(qp=-32, use_dq=True, pre_signalling=True))]
                 + [({"w": d}, dict(qp=-32, use_dq=True, compress_differences=True, tca=True))] * 2,
                 use_hdsp=True)

    # Incremental with block scan: TCA across a scan_order 1 tensor (entry points in an update).
    rng = np.random.default_rng(20240615)
    t0 = (rng.standard_normal((40, 24)) * 0.05).astype(np.float32)
    t1 = (t0 + (rng.random((40, 24)) < 0.3) * 0.02).astype(np.float32)
    gen_sequence(nnc, HdspTool, out_root, "gen_inc_tca_scan1_40x24",
                 "40x24 base tensor then a full-tensor update with TCA, scan_order 1 (5 block rows) in both steps, qp -32, no DQ",
                 ["incremental", "TCA", "scan_order 1", "entry points", "no dq"],
                 [({"w": t0}, dict(qp=-32, use_dq=False, scan_order=1, pre_signalling=True)),
                  ({"w": t1}, dict(qp=-32, use_dq=False, scan_order=1, compress_differences=True, tca=True))],
                 use_hdsp=False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(repo), "shared", "conformance"),
                    help="the public reference vectors (default: ../shared/conformance beside the repository)")
    ap.add_argument("--out", default=os.path.join(repo, "Conformance", "vectors"))
    ap.add_argument("--skip-copy", action="store_true", help="only the generated cases")
    ap.add_argument("--skip-generate", action="store_true", help="only the copied cases")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.skip_copy:
        if not os.path.isdir(args.shared):
            sys.exit("no public vectors at %s (use --shared or --skip-copy)" % args.shared)
        for name, features in COPIED.items():
            copy_case(args.shared, args.out, name, features)
    if not args.skip_generate:
        generate(args.out)


if __name__ == "__main__":
    main()
