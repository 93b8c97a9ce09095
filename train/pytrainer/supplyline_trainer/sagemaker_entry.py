"""Entry point of a SageMaker training job (train/sagemaker).

The launcher uploads a source archive that the SageMaker training toolkit
unpacks into /opt/ml/code: this file at its top level (sagemaker_program),
the supplyline_trainer package, lib/libsupplyline_loader.so and
supplyline_spec.json, the train.JobSpec as submitted. With
sagemaker_torch_distributed_enabled the toolkit runs this file under torchrun
on every instance, one rank per GPU or NeuronCore, with RANK, WORLD_SIZE and
the SM_* variables set. Hyperparameters arrive as --name value arguments and
are ignored: everything the trainer needs is in the spec.

This script maps the spec onto the container:

    shard_manifest  -> $SM_CHANNEL_SHARDS/<manifest file name>
                       (/opt/ml/input/data/shards, the FullyReplicated channel)
    checkpoint_dir  -> /opt/ml/checkpoints (CheckpointConfig.LocalPath), which
                       SageMaker fills from the checkpoint S3 URI at start and
                       copies back to it as files change
    resume_from     -> /opt/ml/checkpoints/<its last path element>, or the
                       newer checkpoint named by /opt/ml/checkpoints/latest
                       when a spot interruption restarted the job
    world_size      -> $WORLD_SIZE
    loader_lib      -> $SUPPLYLINE_LOADER_LIB (/opt/ml/code/lib/...)

then runs the trainer in this process. Rank 0 copies each progress line the
trainer prints into /opt/ml/checkpoints/_progress/<job name>.json, which the
launcher's Describe reads from S3.

Devices: the launcher sets SUPPLYLINE_DEVICE (xla on Trainium, cuda on GPU
instances) and train.select_device turns it into the device and its
process-group backend: xla (xla_device.py's XLA path, "xla" backend), cuda
(cuda:LOCAL_RANK, NCCL), cpu (gloo), or auto when unset (cuda if torch sees
a GPU, else cpu). The same Device is passed to train(spec, device=...), so
the backend this script initialises and the device the trainer uses agree.
A device the container cannot provide ends the job with a message.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE) if os.path.basename(HERE) == "supplyline_trainer" else HERE
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SPEC_FILE = "supplyline_spec.json"
LIB_PATH = os.path.join("lib", "libsupplyline_loader.so")
CHECKPOINTS = "/opt/ml/checkpoints"
PROGRESS_PREFIX = "SUPPLYLINE_PROGRESS "


def _checkpoint_step(path):
    try:
        with open(os.path.join(path, "state.json")) as f:
            return int(json.load(f)["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def container_spec(spec, env, checkpoints=CHECKPOINTS, root=ROOT):
    """Return spec with its URIs mapped onto the container (see the module doc)."""
    spec = dict(spec)
    channel = env.get("SM_CHANNEL_SHARDS", "/opt/ml/input/data/shards")
    manifest = spec.get("shard_manifest", "")
    name = manifest.rstrip("/").rsplit("/", 1)[-1]
    spec["shard_manifest"] = os.path.join(channel, name if name.endswith(".json") else "manifest.json")
    spec["checkpoint_dir"] = checkpoints
    target = int(spec.get("target_step") or 0)
    resume = ""
    if spec.get("resume_from"):
        resume = os.path.join(checkpoints, spec["resume_from"].rstrip("/").rsplit("/", 1)[-1])
    try:
        with open(os.path.join(checkpoints, "latest")) as f:
            latest = os.path.join(checkpoints, f.read().strip())
        step = _checkpoint_step(latest)
        if step > _checkpoint_step(resume) and step <= target:
            resume = latest  # written by an earlier run of this job (spot restart)
    except OSError:
        pass
    spec["resume_from"] = resume
    if env.get("WORLD_SIZE"):
        spec["world_size"] = int(env["WORLD_SIZE"])
    spec["loader_lib"] = env.get("SUPPLYLINE_LOADER_LIB") or os.path.join(root, LIB_PATH)
    return spec


class ProgressTee:
    """A stdout that also keeps the last progress line in a JSON file."""

    def __init__(self, out, path):
        self._out, self._path, self._buf = out, path, ""

    def write(self, s):
        n = self._out.write(s)
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            if line.startswith(PROGRESS_PREFIX):
                self._save(line[len(PROGRESS_PREFIX):])
        return n

    def _save(self, payload):
        try:
            json.loads(payload)
        except ValueError:
            return
        os.makedirs(os.path.dirname(self._path), exist_ok=True)
        tmp = self._path + ".tmp"
        with open(tmp, "w") as f:
            f.write(payload + "\n")
        os.replace(tmp, self._path)

    def flush(self):
        self._out.flush()

    def __getattr__(self, name):
        return getattr(self._out, name)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="sagemaker_entry")
    ap.add_argument("--spec", default=os.path.join(ROOT, SPEC_FILE))
    args, _ = ap.parse_known_args(argv)  # the toolkit passes hyperparameters as flags

    from supplyline_trainer import train as T
    import torch.distributed as dist

    rank = os.environ.get("RANK", "0")
    try:
        with open(args.spec) as f:
            spec = container_spec(json.load(f), os.environ)
        path = os.path.join("/tmp", "supplyline_spec.rank%s.json" % rank)
        with open(path, "w") as f:
            json.dump(spec, f)
        spec = T.load_spec(path)
        if rank == "0":
            job = os.environ.get("SUPPLYLINE_JOB_NAME") or os.environ.get("TRAINING_JOB_NAME", "job")
            sys.stdout = ProgressTee(sys.stdout, os.path.join(CHECKPOINTS, "_progress", job + ".json"))
        dev = T.select_device()  # $SUPPLYLINE_DEVICE, as the launcher set it
        dev.prepare()
        dist.init_process_group(dev.backend)
        try:
            T.train(spec, device=dev)
        finally:
            dist.destroy_process_group()
    except Exception as e:  # noqa: BLE001 - the toolkit reports the exit status; say why
        sys.stderr.write("supplyline_trainer: sagemaker: rank %s: error: %s: %s\n" % (rank, type(e).__name__, e))
        sys.stderr.flush()
        return 1
    finally:
        if isinstance(sys.stdout, ProgressTee):
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
