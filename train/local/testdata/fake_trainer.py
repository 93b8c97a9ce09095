"""A stand-in for the trainer, run by torchrun in the tests of train/local.

usage: fake_trainer.py ok|fail|sleep|stubborn

Every mode rendezvouses both ranks over gloo and checks an all_reduce, so a
job that gets past it proves torchrun's rendezvous worked. Rank 0 then prints
progress lines; "fail" exits 3 after a line on stderr, "sleep" waits until it
is killed, and "stubborn" sleeps ignoring SIGTERM.
"""
import json
import os
import signal
import sys
import time

import torch
import torch.distributed as dist

mode = sys.argv[1]
rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])

dist.init_process_group("gloo")
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
want = world * (world + 1) / 2
if t.item() != want:
    print(f"rank {rank}: all_reduce gave {t.item()}, want {want}", file=sys.stderr)
    sys.exit(1)
print(f"rank {rank}/{world}: rendezvous ok, spec {os.environ.get('SUPPLYLINE_SPEC')}, "
      f"device {os.environ.get('SUPPLYLINE_DEVICE')}", file=sys.stderr)


def progress(step, loss, **kw):
    if rank == 0:
        print("SUPPLYLINE_PROGRESS " + json.dumps(dict(step=step, loss=loss, **kw)))


for step in (1, 2, 3):
    progress(step, 4.0 / step, tokens_per_sec=100.0, tokens_seen=step * 512)

if mode == "fail":
    print(f"rank {rank}: fake trainer failing on purpose", file=sys.stderr)
    sys.exit(3)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if mode in ("sleep", "stubborn"):
    while True:
        time.sleep(0.1)
progress(4, 0.5, tokens_seen=2048, done=True)
dist.barrier()
dist.destroy_process_group()
