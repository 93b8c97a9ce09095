"""ctypes wrapper of the Go loader's C ABI (train/loader/capi).

The library is built with
    go build -buildmode=c-shared -o libsupplyline_loader.so ./train/loader/capi
and loaded once per process. Batches are written by Go straight into a numpy
buffer that this module owns; no Go memory crosses into Python. The Go
runtime lives in this process, so the process must never fork (no DataLoader
workers).
"""

import ctypes

import numpy as np
import torch

_libs = {}


def _lib(path):
    lib = _libs.get(path)
    if lib is not None:
        return lib
    lib = ctypes.CDLL(path)
    i64, p64 = ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)
    lib.sl_open.argtypes = [ctypes.c_char_p] + [i64] * 7
    lib.sl_open.restype = i64
    lib.sl_next.argtypes = [i64, p64, i64]
    lib.sl_next.restype = ctypes.c_int
    lib.sl_state.argtypes = [i64, p64]
    lib.sl_state.restype = ctypes.c_int
    lib.sl_last_error.argtypes = [ctypes.c_char_p, i64]
    lib.sl_last_error.restype = i64
    lib.sl_close.argtypes = [i64]
    lib.sl_close.restype = ctypes.c_int
    _libs[path] = lib
    return lib


class LoaderError(RuntimeError):
    """An error reported by the Go loader; the message is Go's."""


def _last_error(lib):
    n = lib.sl_last_error(None, 0)
    buf = ctypes.create_string_buffer(int(n) + 1)
    lib.sl_last_error(buf, n + 1)
    return buf.value.decode("utf-8", "replace") or "unknown error"


class Loader:
    """One rank's view of the global sample order (see train/loader/doc.go).

    next() returns a (batch, seq_len+1) int64 tensor over one of `buffers`
    numpy arrays that this object allocates once and Go fills in place
    through their pointers (torch.from_numpy shares the memory; nothing is
    copied on the Python side and no Go memory is handed out). A returned
    batch stays valid until `buffers` more batches have been asked for, then
    its buffer is refilled: use it (or clone it) before that. The Go side
    prepares batches ahead on its own goroutine, so next() is one memory
    copy into the buffer; with num_workers=0 nothing else is needed.
    """

    def __init__(self, lib_path, manifest, seq_len, batch, rank, world, seed, epoch=0, position=0, buffers=2):
        self._lib = _lib(lib_path)
        self.seq_len, self.batch = seq_len, batch
        if buffers < 1:
            raise ValueError("buffers must be at least 1, got %d" % buffers)
        h = self._lib.sl_open(manifest.encode(), seq_len, batch, rank, world, seed, epoch, position)
        if h <= 0:
            raise LoaderError("opening loader on %s: %s" % (manifest, _last_error(self._lib)))
        self._h = h
        self._arrays = [np.empty((batch, seq_len + 1), dtype=np.int64) for _ in range(buffers)]
        self._ptrs = [a.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)) for a in self._arrays]
        self._tensors = [torch.from_numpy(a) for a in self._arrays]
        self._n = self._arrays[0].size
        self._i = 0

    def next_numpy(self):
        """The next batch as the numpy array Go wrote it into."""
        i = self._i
        if self._lib.sl_next(self._h, self._ptrs[i], self._n) != 0:
            raise LoaderError("next batch: " + _last_error(self._lib))
        self._i = (i + 1) % len(self._arrays)
        return self._arrays[i]

    def next(self):
        """The next batch as a tensor sharing the numpy buffer's memory."""
        i = self._i
        if self._lib.sl_next(self._h, self._ptrs[i], self._n) != 0:
            raise LoaderError("next batch: " + _last_error(self._lib))
        self._i = (i + 1) % len(self._arrays)
        return self._tensors[i]

    def state(self):
        """The resume point: {seed, epoch, position, world_size} as in train.LoaderState."""
        out = (ctypes.c_int64 * 4)()
        if self._lib.sl_state(self._h, out) != 0:
            raise LoaderError("state: " + _last_error(self._lib))
        return {"seed": out[0], "epoch": out[1], "position": out[2], "world_size": out[3]}

    def close(self):
        if self._h:
            h, self._h = self._h, 0
            if self._lib.sl_close(h) != 0:
                raise LoaderError("close: " + _last_error(self._lib))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_M = (1 << 64) - 1


def permutation(seed, epoch, n):
    """The loader's epoch order, reimplemented from loader.Permutation's
    documented recipe (splitmix64 + Fisher-Yates); a reference and a check,
    not used on the hot path."""

    def split(s):
        s = (s + 0x9E3779B97F4A7C15) & _M
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
        return s, z ^ (z >> 31)

    _, out = split(seed & _M)
    s = out ^ (epoch & _M)
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        s, out = split(s)
        j = out % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm
