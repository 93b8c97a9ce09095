"""The trainer's entry point. A launcher (train/local) runs, in a job
directory that holds this package,

    GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    /usr/bin/torchrun --rdzv_backend=c10d --rdzv_endpoint=localhost:0 \
        --nnodes=1 --nproc_per_node=W --redirects=9:1 --tee=9:1 \
        -m supplyline_trainer.train --spec job.json

(--redirects/--tee name a local rank that does not exist, i.e. no redirect:
torch 1.13 under Python 3.11 cannot parse their defaults and fails before
starting any rank). The script path supplyline_trainer/train.py works in
place of "-m supplyline_trainer.train". The Go loader library is the spec's
loader_lib, else $SUPPLYLINE_LOADER_LIB.

Each rank reads its batches through the Go loader; rank 0 prints progress
lines (ProgressPrefix + JSON of train.Progress) and writes the checkpoint at
target_step in the layout of train/checkpoint.go. Errors end the process
with status 1 and a message on stderr; torchrun then stops the other ranks.

Defaults mirror train.Hyper.WithDefaults and train.ModelConfig.WithDefaults,
with one addition: hyper.total_steps = 0 means this job's target_step, so a
run split into segments must set total_steps to keep one cosine schedule.

Batches: an optimiser step takes hyper.global_batch windows over all ranks
(0 means batch_size x world_size). Each rank asks the loader for
global_batch/world_size windows at once (its contiguous slice of the global
batch, see train/loader/doc.go) and runs them as accum =
global_batch/(batch_size x world_size) micro-batches of batch_size, with
DDP's gradient all-reduce on the last one only. The loss of each
micro-batch is divided by accum, so every step minimises the mean loss of
the same global batch whatever the world size; a checkpoint records the
global batch and a resume with another one is refused.

Checkpoints are written at target_step and, when hyper.checkpoint_every is
set, every that many steps before it; each moves <checkpoint_dir>/latest.
Torch runs with deterministic algorithms on one thread, so on CPU a run
resumed from a checkpoint repeats the straight run's losses bit for bit.

Devices: SUPPLYLINE_DEVICE picks one (select_device):
  cpu    gloo; the default where torch sees no GPU, and what every test runs.
  cuda   NCCL; rank r on cuda:LOCAL_RANK (torch.cuda.set_device), DDP with
         device_ids; batches copied from the loader's numpy buffer with
         .to(device, non_blocking=True). Deterministic algorithms with
         warn_only and CUBLAS_WORKSPACE_CONFIG=:4096:8 (set unless already
         set): repeatable where CUDA's kernels allow, no bitwise promise.
  xla    the "xla" backend and xm.xla_device() of xla_device.py (Trainium
         through torch-neuronx); xm.mark_step() after optimizer.step(),
         losses read on the host, xm.rendezvous in place of the final
         barrier, no deterministic-algorithms flag. Untested: no torch_xla
         or NeuronCores here.
  auto   (or unset) cuda when torch.cuda.is_available(), else cpu.
A device that this process cannot use ends it with an error. The model is
initialised on the CPU and moved, so every device starts from the same
weights; losses are read from the device only at log steps (every step with
SUPPLYLINE_DEBUG_DIR). Checkpoints are always written from CPU tensors and
optimizer.pt is read with map_location="cpu", so a checkpoint written on one
device resumes on any other and Go inference reads it unchanged.

Test and benchmark hooks, off unless set:
  SUPPLYLINE_DEBUG_DIR=d   each rank appends one JSON line per step to
                           d/rank-<r>.jsonl: the step, a hash of each window
                           of its batch and of the whole batch, its loss
                           (float.hex), and the seconds spent in the loader
                           and in the whole step.
  SUPPLYLINE_DEBUG_HANG_AFTER_STEP=k
                           rank 0 stops making progress after step k (and
                           its checkpoint and progress line), so that a test
                           can kill the job at a known step.
  --synthetic              train on 8 batches read once and held in memory,
                           cycled; no checkpoint is written. It is the
                           baseline of the data-stall benchmark.

The learning rate at the step that takes the model from step s to s+1 is
lr*(s+1)/warmup during warm-up, then a cosine from lr down to lr/10 over the
remaining total_steps-warmup steps, and lr/10 after it. It is a function of
the step alone, so resuming needs no scheduler state.
"""

import argparse
import base64
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
import traceback

if __package__ in (None, ""):  # run as a script path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

from supplyline_trainer import safetensors  # noqa: E402
from supplyline_trainer import xla_device  # noqa: E402
from supplyline_trainer.loader import Loader  # noqa: E402
from supplyline_trainer.model import GPT  # noqa: E402

# Names shared with train/launcher.go and train/checkpoint.go.
PROGRESS_PREFIX = "SUPPLYLINE_PROGRESS "
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
STATE_FILE = "state.json"
LATEST_FILE = "latest"


class SpecError(Exception):
    """The job spec or its inputs are wrong; retrying cannot help."""


DEVICE_ENV = "SUPPLYLINE_DEVICE"
BACKENDS = {"cpu": "gloo", "cuda": "nccl", "xla": "xla"}


class DeviceError(SpecError):
    """The requested device cannot be used by this process; retrying here cannot help."""


class Device:
    """Where this rank computes: kind is "cpu", "cuda" or "xla", backend the
    torch.distributed backend that goes with it, index the CUDA device
    (LOCAL_RANK). Build one with select_device."""

    def __init__(self, kind, index=None, torch_device=None):
        if kind not in BACKENDS:
            raise DeviceError("unknown device kind %r" % (kind,))
        self.kind, self.index, self.backend = kind, index, BACKENDS[kind]
        self._torch = torch_device
        if self._torch is None and kind == "cpu":
            self._torch = torch.device("cpu")
        elif self._torch is None and kind == "cuda":
            self._torch = torch.device("cuda", index)
        self._prepared = False

    @property
    def torch(self):
        """The torch.device. On XLA it is looked up on first use, after
        init_process_group, in the order torch-neuronx's examples use."""
        if self._torch is None:
            self._torch = xla_device.device()
        return self._torch

    def prepare(self):
        """Process-wide set-up, done once before init_process_group: on CUDA
        the cuBLAS workspace that deterministic algorithms need and this
        rank's current device."""
        if self._prepared:
            return
        if self.kind == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.cuda.set_device(self.index)
        self._prepared = True

    def put(self, batch):
        """A CPU batch (the loader's buffer) on this device. On CPU it is the
        buffer itself. On CUDA the buffer is pageable, so the copy has read it
        when .to returns even with non_blocking, and the loader may refill it."""
        if self.kind == "cpu":
            return batch
        if self.kind == "cuda":
            return batch.to(self.torch, non_blocking=True)
        return batch.to(self.torch)

    def __repr__(self):
        return "Device(%s, backend=%s%s)" % (self.kind, self.backend, "" if self.index is None else ", index=%d" % self.index)


def select_device(requested=None, local_rank=None):
    """The Device for requested ("auto", "cpu", "cuda" or "xla"; None means
    $SUPPLYLINE_DEVICE, and empty means auto). Auto is CUDA when
    torch.cuda.is_available(), else CPU; XLA is only ever chosen explicitly.
    CUDA takes device LOCAL_RANK. Raises DeviceError when the device is not
    usable here (no CUDA, too few GPUs, no torch_xla)."""
    if requested is None:
        requested = os.environ.get(DEVICE_ENV, "")
    req = str(requested).strip().lower() or "auto"
    if local_rank is None:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if req == "auto":
        req = "cuda" if torch.cuda.is_available() else "cpu"
    if req == "cpu":
        return Device("cpu")
    if req == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("%s=cuda but CUDA is not available to this torch %s (built for CUDA %s): no GPU visible, "
                              "no driver, or a CPU-only build; set %s=cpu (or auto) to train on the CPU"
                              % (DEVICE_ENV, torch.__version__, torch.version.cuda or "none", DEVICE_ENV))
        n = torch.cuda.device_count()
        if not 0 <= local_rank < n:
            raise DeviceError("%s=cuda: LOCAL_RANK %d but %d CUDA device(s) are visible: start at most %d rank(s) per node"
                              % (DEVICE_ENV, local_rank, n, n))
        return Device("cuda", local_rank)
    if req == "xla":
        if not xla_device.HAVE_XLA:
            raise DeviceError("%s=xla but torch_xla cannot be imported (%s): the XLA path needs the Neuron training image "
                              "(torch-neuronx with torch_xla)" % (DEVICE_ENV, xla_device.IMPORT_ERROR))
        return Device("xla")
    raise DeviceError("%s=%r: want auto, cpu, cuda or xla" % (DEVICE_ENV, requested))


def as_device(device):
    """device as a Device: None or a string go through select_device; a
    torch.device of type cpu, cuda or xla is accepted too."""
    if device is None or isinstance(device, str):
        return select_device(device)
    if isinstance(device, Device):
        return device
    if isinstance(device, torch.device):
        if device.type == "cpu":
            return Device("cpu")
        if device.type == "cuda":
            return select_device("cuda", local_rank=device.index)
        if device.type == "xla":
            return Device("xla", torch_device=device)
    raise DeviceError("device %r: want a Device, a torch.device or one of auto, cpu, cuda, xla" % (device,))


def set_determinism(dev):
    """CPU: deterministic algorithms, strictly (an op without a deterministic
    kernel is an error), so that resume repeats a run bit for bit. CUDA: the
    same flag with warn_only, since not every CUDA kernel has a deterministic
    version (CUBLAS_WORKSPACE_CONFIG=:4096:8 is set by Device.prepare unless
    already set); no bitwise promise there. XLA: left to the compiler."""
    torch.set_num_threads(1)
    if dev.kind == "cpu":
        torch.use_deterministic_algorithms(True)
    elif dev.kind == "cuda":
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def checkpoint_name(step):
    return "step-%07d" % step


def model_with_defaults(m):
    m = dict(m or {})
    for k, v in (("vocab_size", 0), ("context_len", 128), ("layers", 2), ("heads", 4), ("dim", 64)):
        if not m.get(k):
            m[k] = v
    return {k: int(m[k]) for k in ("vocab_size", "context_len", "layers", "heads", "dim")}


def hyper_with_defaults(h, target_step):
    h = dict(h or {})
    out = {
        "batch_size": int(h.get("batch_size") or 8),
        "lr": float(h.get("lr") or 3e-3),
        "warmup_steps": int(h.get("warmup_steps") or 20),
        "total_steps": int(h.get("total_steps") or target_step),
        "weight_decay": float(h.get("weight_decay") or 0.01),
        "log_every": int(h.get("log_every") or 10),
        "checkpoint_every": int(h.get("checkpoint_every") or 0),
        "global_batch": int(h.get("global_batch") or 0),
    }
    return out


def load_spec(path):
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        raise SpecError("reading job spec %s: %s" % (path, e))
    errs = []
    for k in ("shard_manifest", "checkpoint_dir"):
        if not spec.get(k):
            errs.append("%s: required" % k)
    target = int(spec.get("target_step") or 0)
    if target <= 0:
        errs.append("target_step: must be positive, got %d" % target)
    spec["world_size"] = int(spec.get("world_size") or 2)
    spec["seed"] = int(spec.get("seed") or 0)
    m = model_with_defaults(spec.get("model"))
    if m["vocab_size"] <= 0:
        errs.append("model.vocab_size: must be positive, got %d" % m["vocab_size"])
    if min(m["context_len"], m["layers"], m["heads"], m["dim"]) <= 0:
        errs.append("model: context_len, layers, heads, dim must be positive")
    elif m["dim"] % m["heads"]:
        errs.append("model.dim: %d is not a multiple of heads %d" % (m["dim"], m["heads"]))
    spec["model"] = m
    spec["hyper"] = hyper_with_defaults(spec.get("hyper"), target)
    h = spec["hyper"]
    for k in ("batch_size", "warmup_steps", "total_steps", "log_every"):
        if h[k] <= 0:
            errs.append("hyper.%s: must be positive, got %d" % (k, h[k]))
    if h["checkpoint_every"] < 0:
        errs.append("hyper.checkpoint_every: must not be negative, got %d" % h["checkpoint_every"])
    if h["batch_size"] > 0 and (h["global_batch"] < 0 or h["global_batch"] % (h["batch_size"] * spec["world_size"])):
        errs.append("hyper.global_batch: must be a multiple of batch_size %d x world_size %d, got %d"
                    % (h["batch_size"], spec["world_size"], h["global_batch"]))
    if errs:
        raise SpecError("invalid job spec %s: %s" % (path, "; ".join(errs)))
    return spec


def local_path(uri, what):
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if "://" in uri:
        raise SpecError("%s %s: only local paths are supported by this trainer" % (what, uri))
    return uri


def read_manifest(uri):
    path = local_path(uri, "shard_manifest")
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.json")
    try:
        with open(path) as f:
            return path, json.load(f)
    except (OSError, ValueError) as e:
        raise SpecError("reading shard manifest %s: %s" % (path, e))


def lr_at(step, h):
    """Learning rate of the update from step to step+1 (see the module doc)."""
    peak, warm, total = h["lr"], h["warmup_steps"], h["total_steps"]
    if step < warm:
        return peak * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    low = peak / 10
    return low + 0.5 * (peak - low) * (1 + math.cos(math.pi * progress))


def param_groups(model, weight_decay):
    """Matrices (linear weights, embeddings) decay; biases and LayerNorms do not."""
    decay, rest = [], []
    for _, p in sorted(model.named_parameters()):
        (decay if p.dim() >= 2 else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def rng_state():
    return {
        "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode(),
        "python": base64.b64encode(json.dumps(random.getstate()).encode()).decode(),
    }


def set_rng_state(rng):
    if "torch" in rng:
        b = base64.b64decode(rng["torch"])
        torch.set_rng_state(torch.frombuffer(bytearray(b), dtype=torch.uint8))
    if "python" in rng:
        v = json.loads(base64.b64decode(rng["python"]))
        random.setstate((v[0], tuple(v[1]), v[2]))


def resolve_resume(path):
    path = local_path(path, "resume_from")
    if not os.path.exists(os.path.join(path, STATE_FILE)) and os.path.exists(os.path.join(path, LATEST_FILE)):
        with open(os.path.join(path, LATEST_FILE)) as f:
            path = os.path.join(path, f.read().strip())
    return path


def write_json_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cpu_state_dict(state_dict):
    """state_dict with every tensor on the CPU (CPU tensors are kept as they
    are). Tensors that share storage on CUDA share one CPU copy, so that
    safetensors.save still writes tied weights once; XLA tensors expose no
    storage pointer and are copied one by one (the model ties none)."""
    out, copies = {}, {}
    for k, v in state_dict.items():
        if v.device.type in ("cpu", "xla"):
            out[k] = v.detach().to("cpu")
            continue
        key = (v.data_ptr(), tuple(v.shape), v.dtype)
        if key not in copies:
            copies[key] = v.detach().to("cpu")
        out[k] = copies[key]
    return out


def to_cpu(obj):
    """obj (an optimizer state_dict: dicts, lists, tuples, tensors) with its tensors on the CPU."""
    if torch.is_tensor(obj):
        return obj.detach().to("cpu")
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def write_checkpoint(ckpt_dir, step, model, optimizer, state):
    """Write <ckpt_dir>/step-NNNNNNN/ through a temporary directory, then point latest at it.

    Everything is written from CPU tensors, so a checkpoint written on any
    device resumes on any other and Go inference reads it as it is."""
    os.makedirs(ckpt_dir, exist_ok=True)
    name = checkpoint_name(step)
    final = os.path.join(ckpt_dir, name)
    tmp = os.path.join(ckpt_dir, ".%s.tmp-%d" % (name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    safetensors.save(safetensors.strip_ddp(cpu_state_dict(model.state_dict())), os.path.join(tmp, MODEL_FILE))
    torch.save(to_cpu(optimizer.state_dict()), os.path.join(tmp, OPTIMIZER_FILE))
    write_json_atomic(os.path.join(tmp, STATE_FILE), state)
    if os.path.exists(final):  # a rerun of the same segment: replace it whole
        old = final + ".old-%d" % os.getpid()
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    latest_tmp = os.path.join(ckpt_dir, LATEST_FILE + ".tmp")
    with open(latest_tmp, "w") as f:
        f.write(name + "\n")
    os.replace(latest_tmp, os.path.join(ckpt_dir, LATEST_FILE))
    return final


def progress(step, loss, tps, tokens_seen, checkpoint=None, done=False):
    p = {"step": step, "loss": loss, "tokens_per_sec": tps, "tokens_seen": tokens_seen}
    if checkpoint:
        p["checkpoint"] = checkpoint
    if done:
        p["done"] = True
    sys.stdout.write(PROGRESS_PREFIX + json.dumps(p) + "\n")
    sys.stdout.flush()


class DebugLog:
    """SUPPLYLINE_DEBUG_DIR's per-rank step log (see the module doc)."""

    def __init__(self, rank):
        d = os.environ.get("SUPPLYLINE_DEBUG_DIR")
        self.f = None
        if d:
            os.makedirs(d, exist_ok=True)
            self.f = open(os.path.join(d, "rank-%d.jsonl" % rank), "a")

    def step(self, step, rows, loss, next_s, step_s):
        if not self.f:
            return
        a = rows.numpy()
        line = {
            "step": step,
            "rows": [hashlib.sha256(r.tobytes()).hexdigest()[:16] for r in a],
            "batch": hashlib.sha256(a.tobytes()).hexdigest()[:16],
            "loss": float(loss).hex(),
            "next_s": next_s,
            "step_s": step_s,
        }
        self.f.write(json.dumps(line) + "\n")
        self.f.flush()


def train(spec, synthetic=False, device=None):
    """Run the job spec on device (see as_device; None means
    $SUPPLYLINE_DEVICE, else auto). The process group must be initialised,
    with device's backend on CPU and CUDA."""
    dev = as_device(device)
    dev.prepare()
    if dev.kind != "xla" and dist.is_initialized() and dist.get_backend() != dev.backend:
        raise DeviceError("the process group uses the %s backend, the %s device needs %s"
                          % (dist.get_backend(), dev.kind, dev.backend))
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world != spec["world_size"]:
        raise SpecError("job spec asks for world_size %d, torchrun started %d ranks" % (spec["world_size"], world))
    lib = spec.get("loader_lib") or os.environ.get("SUPPLYLINE_LOADER_LIB")
    if not lib:
        raise SpecError("no loader library: set loader_lib in the job spec or SUPPLYLINE_LOADER_LIB")
    if not os.path.exists(lib):
        raise SpecError("loader library %s does not exist" % lib)
    mcfg, hyper, target = spec["model"], spec["hyper"], int(spec["target_step"])
    manifest_path, manifest = read_manifest(spec["shard_manifest"])
    if int(manifest.get("vocab_size", 0)) > mcfg["vocab_size"]:
        raise SpecError("shard manifest %s has vocab_size %d, the model only %d"
                        % (manifest_path, manifest["vocab_size"], mcfg["vocab_size"]))
    ckpt_dir = local_path(spec["checkpoint_dir"], "checkpoint_dir")

    set_determinism(dev)
    torch.manual_seed(spec["seed"])
    random.seed(spec["seed"])
    # Initialised on the CPU from the CPU generator, so that every device
    # starts from the same weights, then moved before the optimizer sees it.
    model = GPT.from_config(mcfg).to(dev.torch)
    optimizer = torch.optim.AdamW(param_groups(model, hyper["weight_decay"]), lr=hyper["lr"], betas=(0.9, 0.95))

    step, tokens_seen, loss_val = 0, 0, float("nan")
    loader_state = {"seed": spec["seed"], "epoch": 0, "position": 0}
    loss_curve = []  # [step, loss] at every logged step, carried across resumes
    if spec.get("resume_from"):
        rdir = resolve_resume(spec["resume_from"])
        try:
            with open(os.path.join(rdir, STATE_FILE)) as f:
                st = json.load(f)
        except (OSError, ValueError) as e:
            raise SpecError("resume_from %s: %s" % (rdir, e))
        if model_with_defaults(st.get("model")) != mcfg:
            raise SpecError("resume_from %s: checkpoint model %s differs from the spec's %s" % (rdir, st.get("model"), mcfg))
        weights = safetensors.load(os.path.join(rdir, MODEL_FILE))
        model.load_state_dict(weights, strict=True)
        optimizer.load_state_dict(torch.load(os.path.join(rdir, OPTIMIZER_FILE), map_location="cpu"))
        step, tokens_seen, loss_val = int(st["step"]), int(st["tokens_seen"]), float(st.get("loss", float("nan")))
        loader_state = st["loader"]
        loss_curve = [[int(a), float(b)] for a, b in (st.get("loss_curve") or []) if int(a) <= step]
        set_rng_state(st.get("rng") or {})
        resumed_global = int(st.get("global_batch") or 0)
    if step > target:
        raise SpecError("resume_from is at step %d, past target_step %d" % (step, target))
    if step == target:  # a retried segment that had already finished
        if rank == 0:
            progress(step, loss_val if math.isfinite(loss_val) else 0.0, 0.0, tokens_seen, checkpoint=rdir, done=True)
        return

    if dev.kind == "cuda":
        ddp = DDP(model, device_ids=[dev.index], output_device=dev.index, broadcast_buffers=False)
    else:  # CPU, and XLA as torch-neuronx's DDP examples use it
        ddp = DDP(model, broadcast_buffers=False)
    seq, batch = mcfg["context_len"], hyper["batch_size"]
    global_batch = hyper["global_batch"] or batch * world
    accum = global_batch // (batch * world)
    if spec.get("resume_from") and resumed_global and resumed_global != global_batch:
        raise SpecError("resume_from %s: the checkpoint was trained with a global batch of %d windows, this job asks for %d "
                        "(set hyper.global_batch to keep it)" % (rdir, resumed_global, global_batch))
    loader = Loader(lib, manifest_path, seq, batch * accum, rank, world,
                    int(loader_state["seed"]), int(loader_state["epoch"]), int(loader_state["position"]))
    step_tokens = global_batch * seq
    synth = [loader.next().clone() for _ in range(8)] if synthetic else None
    debug = DebugLog(rank)
    hang_after = int(os.environ.get("SUPPLYLINE_DEBUG_HANG_AFTER_STEP") or 0)
    every = hyper["checkpoint_every"]

    def state_at(step):
        return {
            "step": step,
            "tokens_seen": tokens_seen,
            "loss": loss_val if math.isfinite(loss_val) else 0.0,
            "loss_curve": loss_curve,
            "loader": {**loader.state(), "world_size": world},
            "global_batch": global_batch,
            "rng": rng_state(),
            "model": mcfg,
            "hyper": hyper,
            "lineage": {
                "shard_manifest": spec["shard_manifest"],
                "tokenizer_hash": manifest.get("tokenizer_hash", ""),
                "input_hash": manifest.get("input_hash", ""),
                "cutoff": manifest.get("cutoff", ""),
            },
        }

    t0, tokens0, tps = time.perf_counter(), tokens_seen, 0.0
    while step < target:
        t_step = time.perf_counter()
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step, hyper)
        rows = synth[step % len(synth)] if synth else loader.next()  # on the CPU: the loader's buffer
        t_next = time.perf_counter() - t_step
        data = dev.put(rows)
        optimizer.zero_grad(set_to_none=True)
        losses = []
        for i in range(accum):
            micro = data[i * batch:(i + 1) * batch]
            x, y = micro[:, :-1], micro[:, 1:]
            # Gradients are all-reduced once per step, on the last micro-batch.
            with ddp.no_sync() if i < accum - 1 else contextlib.nullcontext():
                logits = ddp(x)
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
                (loss / accum).backward()
            losses.append(loss.detach())
        step_losses = torch.stack(losses)  # on XLA, part of this step's graph
        torch.nn.utils.clip_grad_norm_(ddp.parameters(), 1.0)
        optimizer.step()
        if dev.kind == "xla":
            xla_device.mark_step()
        step += 1
        tokens_seen += step_tokens
        ckpt_now = every and step % every == 0 and step != target and not synth
        log_now = step % hyper["log_every"] == 0 or step == target or ckpt_now
        if log_now or debug.f:
            # The step's mean loss, summed in double in micro-batch order as
            # float(loss) would be. Reading it waits for the device, so it
            # happens only when it is logged.
            local = 0.0
            for v in step_losses.to("cpu").tolist():
                local += v
            local /= accum
            debug.step(step, rows, local, t_next, time.perf_counter() - t_step)
        if log_now:
            # float64 everywhere but on XLA, whose devices may lack it.
            mean = torch.tensor([local], dtype=torch.float32 if dev.kind == "xla" else torch.float64).to(dev.torch)
            dist.all_reduce(mean, op=dist.ReduceOp.SUM)
            loss_val = float(mean.to("cpu").item()) / world
            if math.isfinite(loss_val):
                loss_curve.append([step, loss_val])
            now = time.perf_counter()
            tps = (tokens_seen - tokens0) / max(now - t0, 1e-9)
            t0, tokens0 = now, tokens_seen
            if rank == 0 and step != target:
                ckpt = write_checkpoint(ckpt_dir, step, model, optimizer, state_at(step)) if ckpt_now else None
                progress(step, loss_val, tps, tokens_seen, checkpoint=ckpt)
        if rank == 0 and step == hang_after:
            time.sleep(3600)

    if rank == 0:
        ckpt = None if synth else write_checkpoint(ckpt_dir, step, model, optimizer, state_at(step))
        progress(step, loss_val if math.isfinite(loss_val) else 0.0, tps, tokens_seen, checkpoint=ckpt, done=True)
    if dev.kind == "xla":
        xla_device.rendezvous("supplyline_trainer.done")
    else:
        dist.barrier()
    loader.close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="supplyline_trainer.train", description="Supplyline's reference PyTorch trainer")
    ap.add_argument("--spec", required=True, help="path of the job spec (train.JobSpec as JSON)")
    ap.add_argument("--synthetic", action="store_true",
                    help="benchmark baseline: cycle 8 batches held in memory, write no checkpoint")
    args = ap.parse_args(argv)
    rank = os.environ.get("RANK", "0")
    try:
        spec = load_spec(args.spec)
        dev = select_device()
        dev.prepare()
        dist.init_process_group(dev.backend)
        try:
            train(spec, synthetic=args.synthetic, device=dev)
        finally:
            dist.destroy_process_group()
    except SpecError as e:
        sys.stderr.write("supplyline_trainer: rank %s: error: %s\n" % (rank, e))
        sys.stderr.flush()
        return 1
    except Exception as e:  # noqa: BLE001 - any failure must end the job with a message
        traceback.print_exc()
        sys.stderr.write("supplyline_trainer: rank %s: error: %s: %s\n" % (rank, type(e).__name__, e))
        sys.stderr.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
