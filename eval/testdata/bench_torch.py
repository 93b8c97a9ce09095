"""Times PyTorch's CPU forward pass for eval's BenchmarkVersusTorch.

Loads the checkpoint that parity.py wrote into GPT from train/pytrainer's
model.py and times model(ids) over one batch of equal-length sequences under
torch.no_grad, after warm-up passes that are not timed. Prints one JSON object:
{"tokens_per_s": ..., "seconds_per_batch": ..., "threads": ..., "tokens": ...}.

Usage: bench_torch.py --ckpt DIR --ids FILE --threads N [--iters N] [--warmup N]
FILE is JSON: a list of sequences of token ids, all the same length.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "train", "pytrainer"))

import torch  # noqa: E402

from supplyline_trainer import model as gpt  # noqa: E402
from supplyline_trainer import safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    with open(os.path.join(a.ckpt, "state.json")) as f:
        cfg = json.load(f)["model"]
    model = gpt.GPT.from_config(cfg)
    model.load_state_dict(safetensors.load(os.path.join(a.ckpt, "model.safetensors")))
    model.eval()
    with open(a.ids) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)

    with torch.no_grad():
        for _ in range(a.warmup):
            model(ids)
        start = time.perf_counter()
        for _ in range(a.iters):
            model(ids)
        elapsed = time.perf_counter() - start
    tokens = ids.numel() * a.iters
    json.dump(
        {
            "tokens_per_s": tokens / elapsed,
            "seconds_per_batch": elapsed / a.iters,
            "threads": torch.get_num_threads(),
            "tokens": tokens,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
