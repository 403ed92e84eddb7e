"""nn.save / nn.load: state dicts to and from ``.npz`` files, written atomically.

A state dict may nest: ``{"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}``.
Nested keys are joined with "/" in the file; numbers and strings become 0-d arrays, and come
back as 0-d arrays (``int(state["epoch"])`` reads one). No pickle is involved, so loading a
file cannot run code.

The file is written to a temporary file in the same folder, flushed to disk, and renamed over
the target (``os.replace`` is atomic), and the folder is flushed too so that the rename survives
a power cut: a crash mid-write leaves the previous checkpoint intact. A process killed mid-write
leaves its temporary file; the next save into that folder removes it (tinygrad_np/_files.py).
"""

from __future__ import annotations

import errno
import os
import zipfile

import numpy as np

from .. import _files
from ..errors import CheckpointError
from ..tensor import Tensor

_FORMAT_KEY = "__tinygrad_np_checkpoint__"
_FORMAT = "1"


def _flatten(obj: dict, prefix: str, out: dict, path) -> None:
    for key, value in obj.items():
        if not isinstance(key, str) or "/" in key or not key:
            raise CheckpointError(f"nn.save: key {key!r} cannot be stored in {path}: keys must be "
                                  "non-empty strings without '/'")
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + "/", out, path)
            continue
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind not in "biufcU":
            raise CheckpointError(f"nn.save: {name!r} has type {type(value).__name__} (dtype "
                                  f"{arr.dtype}), which {path} cannot hold without pickle; "
                                  "store arrays, numbers, strings and dicts of them")
        out[name] = arr


def save(state: dict, path) -> None:
    """Write a (possibly nested) dict of arrays to ``path`` as ``.npz``, atomically.

    A symlink is written through, as ``open()`` would; overwriting keeps the file's permissions.
    """
    if not isinstance(state, dict):
        raise CheckpointError(f"nn.save: expected a dict such as model.state_dict(), got "
                              f"{type(state).__name__}")
    path = os.fspath(path)
    flat = {_FORMAT_KEY: np.asarray(_FORMAT)}
    _flatten(state, "", flat, path)
    target = _target(path)
    try:
        with _files.replaced(target) as f:
            np.savez(f, **flat)
    except OSError as e:
        fix = {errno.ENOSPC: "Free disk space", errno.EDQUOT: "Free disk space",
               errno.EACCES: "Save to a folder you can write to",
               errno.EPERM: "Save to a folder you can write to",
               errno.EROFS: "Save to a folder you can write to"}.get(e.errno,
                                                                 "Save again or elsewhere")
        raise CheckpointError(f"nn.save: cannot write {path}: {e.strerror or e}; the file was left "
                              f"as it was and no temporary file remains. {fix}") from e


def _target(path: str) -> str:
    """The file that ``open(path, "wb")`` would write: a symlink's target; checked writable."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    if os.path.islink(target):
        raise CheckpointError(f"nn.save: {path} is a symlink that points, in the end, at itself; "
                              "remove it or save elsewhere")
    if os.path.isdir(target) or not os.path.basename(target):
        raise CheckpointError(f"nn.save: {path} is a directory; pass a file name such as "
                              f"{os.path.join(path, 'checkpoint.npz')}")
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise CheckpointError(f"nn.save: cannot write {path}: the folder {folder} does not exist; "
                              "create it first (os.makedirs)")
    return target


def load(path) -> dict:
    """Read a file written by ``save`` back into nested dicts of arrays.

    A truncated, corrupt or foreign file raises ``CheckpointError`` naming it.
    """
    path = os.fspath(path)
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError(f"it holds a single {type(npz).__name__}, not named arrays")
        with npz:
            flat = {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as e:
        raise CheckpointError(f"nn.load: cannot read {path}: it is truncated, corrupt or not an "
                              f".npz checkpoint ({type(e).__name__}: {e})") from None
    if flat.pop(_FORMAT_KEY, None) is None:
        raise CheckpointError(f"nn.load: {path} is an .npz file but not a tinygrad_np checkpoint "
                              f"(no {_FORMAT_KEY} entry); read plain arrays with np.load")
    state: dict = {}
    for key, arr in flat.items():
        *parents, leaf = key.split("/")
        node = state
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = arr
    return state
