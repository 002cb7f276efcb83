#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (Fuzz/Corpus/<target>/) from the reference vectors.

    python3 Fuzz/make-corpus.py [SHARED_CONFORMANCE_DIR]

Sources: the NNCodec vectors in ../shared/conformance (with units.json, needed for the payload
seeds) and the vectors bundled in Conformance/vectors. Seeds are kept small (see Spec/fuzzing.md):

  parser   every bitstream with each NNR_NDU payload cut to 8 bytes (the headers are what the
           parser reads; unit sizes rewritten), plus the smallest whole files
  payload  one seed per distinct NDU kind: the parameter block of FuzzEntries.payloadCase built
           from the NDU's header fields, then its payload (cut to 12 KiB)
  decode,  whole bitstreams up to 12 KiB, and incremental sequences (steps concatenated; the
  check    targets split them again at each NNR_STR) up to 60 KiB

Rerunning replaces the seed folders; Fuzz/Regressions is never touched.
"""
import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared", "conformance")
BUNDLED = os.path.join(ROOT, "Conformance", "vectors")
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")

WHOLE_MAX = 12 * 1024
SEQUENCE_MAX = 60 * 1024
PAYLOAD_MAX = 12 * 1024


def bitstreams(case_dir):
    steps = []
    k = 0
    while os.path.exists(os.path.join(case_dir, "step%d.nnc" % k)):
        steps.append(("step%d_" % k, os.path.join(case_dir, "step%d.nnc" % k)))
        k += 1
    if steps:
        return steps
    p = os.path.join(case_dir, "bitstream.nnc")
    return [("", p)] if os.path.exists(p) else []


def read(p):
    with open(p, "rb") as f:
        return f.read()


def units(data):
    """(offset, size, size_flag, type) of each top-level unit."""
    out = []
    off = 0
    while off + 2 <= len(data):
        flag = data[off] >> 7
        if flag:
            if off + 4 > len(data):
                break
            size = int.from_bytes(data[off:off + 4], "big") & 0x7FFFFFFF
            type_byte = data[off + 4] if off + 4 < len(data) else 0
        else:
            size = int.from_bytes(data[off:off + 2], "big") & 0x7FFF
            type_byte = data[off + 2] if off + 2 < len(data) else 0
        if size < 3 or off + size > len(data):
            break
        out.append((off, size, flag, type_byte >> 2))
        off += size
    return out


def with_size(unit, flag):
    """The unit with its nnr_unit_size field rewritten to len(unit), keeping the size form."""
    n = len(unit)
    if flag:
        return (0x80000000 | n).to_bytes(4, "big") + unit[4:]
    return n.to_bytes(2, "big") + unit[2:]


def headers_only(data, units_json):
    """Every NDU's payload cut to 8 bytes (header lengths from units.json)."""
    header_bytes = {u["offset"]: u["header_bytes"] for u in units_json} if units_json else {}
    out = b""
    for off, size, flag, typ in units(data):
        unit = data[off:off + size]
        if typ == 5 and off in header_bytes:
            unit = with_size(unit[:header_bytes[off] + 8], flag)
        out += unit
    return out


def payload_header(f, mps, profile, payload_type):
    """FuzzEntries.payloadHeader (single tensor) for the NDU fields `f`; None if not expressible."""
    dims = f.get("tensor_dimensions") or []
    if not 1 <= len(dims) <= 4 or any(not 1 <= d <= 4096 for d in dims):
        return None
    flags = 1 if profile == 1 else 0
    if payload_type in (1, 3):
        flags |= 2
    dq = bool(f.get("dq_flag", 0)) and payload_type != 0
    if dq:
        flags |= 4
    if f.get("parent_node_id_present_flag", 0):
        flags |= 8
    cb_size, cb_zero = 1, 0
    if f.get("codebook_present_flag", 0):
        flags |= 0x40
        cb_size, cb_zero = f["codebook_size__"], f["CbZeroOffset__"]
    eps = f.get("cabac_entry_point_list") or []
    scan = f.get("scan_order", 0) if len(dims) > 1 else 0
    out = bytes([flags, (len(dims) - 1) | (0x20 if eps else 0)])
    for j in range(4):
        out += (dims[j] - 1 if j < len(dims) else 0).to_bytes(2, "big")
    out += bytes([scan, f.get("cabac_unary_length_minus1", 9), mps.get("mps_qp_density", 0) % 8])
    out += ((cb_size - 1) % 4096).to_bytes(2, "big") + (cb_zero % 0xF000).to_bytes(2, "big") + b"\x00"
    for packed in eps:
        delta, value, state = packed >> 11, (packed >> 3) & 0xFF, packed & 7
        out += bytes([value]) + (delta & 0xFFFFFF).to_bytes(3, "big") + bytes([state if dq else 0])
    return out


def payload_seeds(data, units_json):
    """(kind, seed) per NDU of a bitstream."""
    out = []
    mps, profile = {}, 0
    for u in units_json:
        f = u.get("fields", {})
        if u["type"] == 0:
            profile = f.get("general_profile_idc", 0)
        elif u["type"] == 1:
            mps = f
        elif u["type"] == 5:
            pt = f.get("nnr_compressed_data_unit_payload_type", 1)
            if pt not in (0, 1):
                continue
            header = payload_header(f, mps, profile, pt)
            if header is None:
                continue
            start = u["offset"] + u["header_bytes"]
            payload = data[start:u["offset"] + u["nnr_unit_size"]]
            dims = f.get("tensor_dimensions") or []
            kind = (profile, pt, len(dims), f.get("scan_order", 0) if len(dims) > 1 else 0, bool(f.get("dq_flag", 0)),
                    bool(f.get("codebook_present_flag", 0)), f.get("cabac_unary_length_minus1", 9),
                    mps.get("mps_qp_density", 0), bool(f.get("parent_node_id_present_flag", 0)))
            out.append((kind, header + payload[:PAYLOAD_MAX]))
    return out


def save(target, name, data, seen):
    digest = hashlib.sha1(data).hexdigest()
    if digest in seen[target]:
        return
    seen[target].add(digest)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def main():
    cases = []
    if os.path.isdir(SHARED):
        cases += [(n, os.path.join(SHARED, n)) for n in sorted(os.listdir(SHARED))]
    if os.path.isdir(BUNDLED):
        cases += [("bundled_" + n, os.path.join(BUNDLED, n)) for n in sorted(os.listdir(BUNDLED))]
    for t in ("parser", "payload", "decode", "check"):
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
        os.makedirs(os.path.join(CORPUS, t))
    seen = {t: set() for t in ("parser", "payload", "decode", "check")}
    kinds = set()
    for name, case_dir in cases:
        if not os.path.isdir(case_dir):
            continue
        streams = bitstreams(case_dir)
        if not streams:
            continue
        datas = []
        for prefix, path in streams:
            data = read(path)
            datas.append(data)
            uj_path = os.path.join(case_dir, prefix + "units.json")
            uj = json.load(open(uj_path)) if os.path.exists(uj_path) else None
            stem = name + ("_" + prefix.rstrip("_") if prefix else "")
            if uj is not None:
                save("parser", stem + ".nnc", headers_only(data, uj), seen)
                for kind, seed in payload_seeds(data, uj):
                    if kind not in kinds:
                        kinds.add(kind)
                        save("payload", "%s_%d.bin" % (stem, len(kinds)), seed, seen)
            if len(data) <= 1024:
                save("parser", stem + "_whole.nnc", data, seen)
            # later steps of a sequence only decode after the earlier ones: they go in as sequences
            if len(data) <= WHOLE_MAX and not (prefix and prefix != "step0_"):
                save("decode", stem + ".nnc", data, seen)
                save("check", stem + ".nnc", data, seen)
        if len(datas) > 1 and sum(len(d) for d in datas) <= SEQUENCE_MAX:
            joined = b"".join(datas)
            save("decode", name + "_sequence.nnc", joined, seen)
            save("check", name + "_sequence.nnc", joined, seen)
    for t in ("parser", "payload", "decode", "check"):
        d = os.path.join(CORPUS, t)
        files = os.listdir(d)
        print("%-8s %3d seeds, %7d bytes" % (t, len(files), sum(os.path.getsize(os.path.join(d, f)) for f in files)))


if __name__ == "__main__":
    main()
