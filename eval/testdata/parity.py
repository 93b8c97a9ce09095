"""Writes a random GPT checkpoint and PyTorch's logits for eval's parity test.

Builds GPT from train/pytrainer's model.py with a seeded random init, then
perturbs every parameter (biases, LayerNorm weight and bias included) so that
agreement with Go inference is not trivial, and writes into --out:

    model.safetensors   through the trainer's own safetensors.save
    state.json          train.State with step and model config
    logits.json         {"ids": [...], "logits": [[V floats] per position]}

Usage: parity.py --out DIR [--seed N] [--vocab V] [--context T] [--layers L]
                 [--heads H] [--dim D] [--ids 1,2,3 | --n-ids N] [--step S]
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "train", "pytrainer"))

import torch  # noqa: E402

from supplyline_trainer import model as gpt  # noqa: E402
from supplyline_trainer import safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=211)
    ap.add_argument("--context", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dim", type=int, default=48)
    ap.add_argument("--ids", default="")
    ap.add_argument("--n-ids", type=int, default=0, help="random ids when --ids is empty; 0 means the full context")
    ap.add_argument("--step", type=int, default=7)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    cfg = {"vocab_size": a.vocab, "context_len": a.context, "layers": a.layers, "heads": a.heads, "dim": a.dim}
    model = gpt.GPT.from_config(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif name in ("wte.weight", "wpe.weight"):
                p.copy_(0.5 * torch.randn_like(p))
            else:
                # Larger than the trainer's init so attention is far from uniform.
                p.copy_(0.15 * torch.randn_like(p))
    model.eval()

    if a.ids:
        ids = [int(s) for s in a.ids.split(",")]
    else:
        n = a.n_ids or a.context
        ids = torch.randint(0, a.vocab, (n,)).tolist()

    os.makedirs(a.out, exist_ok=True)
    safetensors.save(safetensors.strip_ddp(model.state_dict()), os.path.join(a.out, "model.safetensors"))
    state = {
        "step": a.step,
        "tokens_seen": 0,
        "loss": 0.0,
        "loader": {"seed": 0, "epoch": 0, "position": 0, "world_size": 1},
        "rng": {},
        "model": cfg,
        "hyper": {},
        "lineage": {},
    }
    with open(os.path.join(a.out, "state.json"), "w") as f:
        json.dump(state, f, indent=1)

    with torch.no_grad():
        logits = model(torch.tensor([ids], dtype=torch.long))[0]
    with open(os.path.join(a.out, "logits.json"), "w") as f:
        json.dump({"ids": ids, "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
