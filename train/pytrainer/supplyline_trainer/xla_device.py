"""The XLA device that AWS Trainium (Neuron) runs PyTorch on.

torch-neuronx executes PyTorch through torch_xla: tensors live on
xm.xla_device(), a step's graph is compiled (by neuronx-cc, cached under
NEURON_COMPILE_CACHE_URL) and run when xm.mark_step() is called, and ranks
talk over the "xla" process-group backend. The imports are guarded: this
module imports everywhere, and only the functions that need torch_xla fail,
with XLAUnavailable, where it is missing.

Not runnable on this project's machines (no torch_xla, no NeuronCores): the
XLA path of train.py (select_device("xla"), the "xla" backend, mark_step
after optimizer.step, losses and checkpoints brought to the CPU, rendezvous
at the end) has never run here and is exercised on a trn1/trn2 instance with
the Neuron training image only. What is tested here is that asking for it
without torch_xla fails with a message that names torch_xla.
"""

import os

IMPORT_ERROR = ""
try:  # guarded: torch_xla exists only in the Neuron (and TPU) images
    import torch_xla.core.xla_model as xm  # noqa: F401
    import torch_xla.distributed.xla_backend  # noqa: F401  registers the "xla" backend
    HAVE_XLA = True
except Exception as e:  # noqa: BLE001 - ImportError, or a torch_xla that fails to load; only XLA runs care
    xm = None
    HAVE_XLA = False
    IMPORT_ERROR = "%s: %s" % (type(e).__name__, e)


class XLAUnavailable(RuntimeError):
    """SUPPLYLINE_DEVICE asks for xla but torch_xla cannot be imported."""


def requested():
    """Whether the launcher asked for the XLA device (SUPPLYLINE_DEVICE=xla)."""
    return os.environ.get("SUPPLYLINE_DEVICE", "").lower() == "xla"


def _need():
    if not HAVE_XLA:
        raise XLAUnavailable("SUPPLYLINE_DEVICE=xla but torch_xla cannot be imported (%s): use the Neuron training image"
                             % IMPORT_ERROR)


def device():
    """This rank's XLA device (one NeuronCore)."""
    _need()
    return xm.xla_device()


def backend():
    """The torch.distributed backend for XLA ranks."""
    _need()
    return "xla"


def mark_step():
    """Cut the lazy graph here: compile (or fetch from the cache) and run it."""
    _need()
    xm.mark_step()


def optimizer_step(optimizer):
    """optimizer.step() followed by mark_step, as torch-neuronx's DDP examples do.

    Gradients are all-reduced by DDP over the xla backend before this.
    """
    _need()
    optimizer.step()
    xm.mark_step()


def to_cpu(tensor):
    """Bring a tensor to the host (for loss logging and checkpoints)."""
    _need()
    return tensor.detach().to("cpu")


def rendezvous(tag):
    """Wait for every XLA rank (in place of dist.barrier on the xla backend)."""
    _need()
    xm.rendezvous(tag)
