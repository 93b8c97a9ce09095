"""The XLA device that AWS Trainium (Neuron) runs PyTorch on.

torch-neuronx executes PyTorch through torch_xla: tensors live on
xm.xla_device(), a step's graph is compiled (by neuronx-cc, cached under
NEURON_COMPILE_CACHE_URL) and run when xm.mark_step() is called, and ranks
talk over the "xla" process-group backend. The imports are guarded: this
module imports everywhere, and only the functions that need torch_xla fail,
with XLAUnavailable, where it is missing.

Not runnable on this project's machines (no torch_xla, no NeuronCores); it
is exercised on a trn1/trn2 instance with the Neuron training image only.
"""

import os

try:  # guarded: torch_xla exists only in the Neuron (and TPU) images
    import torch_xla.core.xla_model as xm  # noqa: F401
    import torch_xla.distributed.xla_backend  # noqa: F401  registers the "xla" backend
    HAVE_XLA = True
except ImportError:  # pragma: no cover - depends on the image
    xm = None
    HAVE_XLA = False


class XLAUnavailable(RuntimeError):
    """SUPPLYLINE_DEVICE asks for xla but torch_xla cannot be imported."""


def requested():
    """Whether the launcher asked for the XLA device (SUPPLYLINE_DEVICE=xla)."""
    return os.environ.get("SUPPLYLINE_DEVICE", "").lower() == "xla"


def _need():
    if not HAVE_XLA:
        raise XLAUnavailable("SUPPLYLINE_DEVICE=xla but torch_xla is not installed: use the Neuron training image")


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
