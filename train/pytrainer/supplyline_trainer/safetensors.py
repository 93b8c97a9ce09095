"""A safetensors writer and reader of our own: Debian packages no safetensors.

Format: 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}}, then
the raw little-endian data. Tensors are written in sorted name order.
"""

import json
import os
import struct

import numpy as np
import torch


def strip_ddp(state_dict):
    """Drop DDP's 'module.' prefix so tensor names match the contract."""
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state_dict.items()}


def save(state_dict, path):
    """Write float32 tensors to path atomically. Tensors that share storage
    (tied weights) are written once, under the first name in sorted order."""
    seen = {}
    names = []
    for name in sorted(state_dict):
        t = state_dict[name]
        key = (t.data_ptr(), tuple(t.shape), t.dtype)
        if t.data_ptr() != 0 and key in seen:
            continue
        seen[key] = name
        names.append(name)
    header = {}
    blobs = []
    off = 0
    for name in names:
        arr = state_dict[name].detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4", copy=False)
        b = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hdr = json.dumps(header, separators=(",", ":")).encode()
    hdr += b" " * ((8 - len(hdr) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError("%s: tensor %s has dtype %s, want F32" % (path, name, e["dtype"]))
        b, end = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:end], dtype="<f4").copy()).reshape(e["shape"])
    return out
