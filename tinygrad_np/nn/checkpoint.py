"""nn.save / nn.load: nested state dicts to and from checkpoint files, written atomically.

A state dict may nest: ``{"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}``.
Keys are any strings; values are arrays (or Tensors), numbers, strings, and dicts of them, empty
dicts included. A Python int, float, bool or str comes back as itself (``state["epoch"]`` is 3,
as with torch.load); NumPy scalars come back as 0-d arrays.
No pickle is involved, so loading a file cannot run code.

The file (docs/checkpoint-format.md) is an ``.npz``: a zip of uncompressed ``.npy`` members, one
per array, which ``np.load`` can read too, plus a JSON manifest that lists every dict and array
in order, each array with its dtype, shape and CRC-32. The keys live only in the manifest, so no
key can collide with a member's name or be mangled by zip. ``load`` checks the manifest, every
member's size and every checksum, so a damaged or foreign file raises CheckpointError instead of
returning a partial state; it allocates an array only once it has seen that the file holds the
array's bytes, so a file cannot make it allocate more memory than the file's own size.

The file is written to a temporary file in the same folder, flushed to disk, and renamed over
the target (``os.replace`` is atomic), and the folder is flushed too so that the rename survives
a power cut: a crash mid-write leaves the previous checkpoint intact. A process killed mid-write
leaves its temporary file; the next save into that folder removes it (tinygrad_np/_files.py).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import struct
import sys
import zipfile
import zlib

import numpy as np

from .. import _files
from ..errors import CheckpointError, CheckpointNotFoundError
from ..tensor import Tensor

_MANIFEST = "__tinygrad_np_checkpoint__.json"
_FORMAT_1_MARKER = "__tinygrad_np_checkpoint__.npy"  # files written before the manifest existed
_FORMAT, _VERSION = "tinygrad_np checkpoint", 3
_READS = (2, 3)  # 3 added the "python" field: the Python type a 0-d entry was saved from
# the Python types a 0-d entry may come back as, and the dtype kinds each is stored with
_PYTHON = {"int": (int, "iu"), "float": (float, "f"), "bool": (bool, "b"), "str": (str, "U")}
_KINDS = "biufcU"  # bool, integers, floats, complex, unicode: what .npy stores without pickle
_MAX_NDIM = 64  # NumPy's limit
_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed member date: the same state gives the same bytes
_CHUNK = 1 << 20
# general-purpose flags of members that nn.save never writes: encrypted, patched, strong
# encryption (zipfile would raise RuntimeError or NotImplementedError on them)
_UNREADABLE_FLAGS = 0x01 | 0x20 | 0x40


def _where(keys) -> str:
    """``state['model']['layers.0.weight']``: the exact key path, whatever the keys contain."""
    return "state" + "".join(f"[{k!r}]" for k in keys)


def _walk(state: dict, path: str) -> tuple[list[dict], list[np.ndarray]]:
    """The manifest entries of ``state`` (every dict before its contents) and its arrays.

    Iterative, so nesting depth is no limit; refuses what cannot be stored, before anything is
    written.
    """
    entries, arrays = [], []
    stack = [((), iter(state.items()))]
    open_dicts = [id(state)]  # the dicts on the current key path: one among them means a cycle
    while stack:
        keys, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            open_dicts.pop()
            continue
        key, value = item
        if not isinstance(key, str):
            raise CheckpointError(f"nn.save: key {key!r} in {_where(keys)} cannot be stored in "
                                  f"{path}: keys must be strings; use str(key)")
        here = keys + (key,)
        if isinstance(value, dict):
            if id(value) in open_dicts:
                raise CheckpointError(f"nn.save: {_where(here)} is a dict that contains itself; "
                                      f"{path} can only hold a tree of dicts")
            entries.append({"path": list(here)})
            stack.append((here, iter(value.items())))
            open_dicts.append(id(value))
            continue
        try:
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        except ValueError:  # a ragged list: NumPy cannot make one array of it
            raise CheckpointError(f"nn.save: {_where(here)} is a {type(value).__name__} of "
                                  "values of different shapes, which is not one array; store "
                                  "them under keys of their own, as a dict") from None
        if arr.dtype.kind not in _KINDS or arr.dtype.names is not None:
            raise CheckpointError(f"nn.save: {_where(here)} has type {type(value).__name__} "
                                  f"(dtype {arr.dtype}), which {path} cannot hold without "
                                  "pickle; store arrays, numbers, strings and dicts of them")
        entry = {"path": list(here), "dtype": arr.dtype.str, "shape": list(arr.shape)}
        if type(value) in (int, float, bool, str):  # exactly: not a NumPy scalar or subclass
            entry["python"] = type(value).__name__
        entries.append(entry)
        arrays.append(arr)
    return entries, arrays


def _path(fn: str, path) -> str:
    try:
        return os.fsdecode(path)
    except TypeError:
        raise CheckpointError(f"{fn}: path must be a file name (a str or pathlib.Path), got "
                              f"{type(path).__name__}") from None


def save(state: dict, path) -> None:
    """Write a (possibly nested) dict of arrays to ``path``, atomically.

    A symlink is written through, as ``open()`` would; overwriting keeps the file's permissions.
    """
    if not isinstance(state, dict):
        raise CheckpointError(f"nn.save: expected a dict such as model.state_dict(), got "
                              f"{type(state).__name__}")
    path = _path("nn.save", path)
    entries, arrays = _walk(state, path)
    target = _target(path)
    try:
        with _files.replaced(target) as f:
            _write(f, entries, arrays)
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
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CheckpointError(f"nn.save: cannot write {path}: {folder} is a file, not a folder; "
                              "save elsewhere")
    if not os.path.isdir(folder):
        raise CheckpointError(f"nn.save: cannot write {path}: the folder {folder} does not exist; "
                              "create it first (os.makedirs)")
    return target


def _write(f, entries: list[dict], arrays: list[np.ndarray]) -> None:
    """The zip: array k as member ``k.npy``, stored, then the manifest with their CRC-32s."""
    leaves = [entry for entry in entries if "dtype" in entry]
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        for k, (entry, arr) in enumerate(zip(leaves, arrays)):
            info = _member(f"{k}.npy")
            big = arr.nbytes + 65536 > zipfile.ZIP64_LIMIT  # room for the .npy header
            if not arr.flags.c_contiguous:  # C order (np.ascontiguousarray would make 0-d 1-d)
                arr = arr.copy(order="C")
            with zf.open(info, "w", force_zip64=big) as member:
                np.lib.format.write_array(member, arr, version=(1, 0), allow_pickle=False)
            entry["crc32"] = info.CRC
        manifest = {"format": _FORMAT, "version": _VERSION, "entries": entries}
        # ASCII JSON: every string survives exactly (NUL, lone surrogates) as a \u escape
        zf.writestr(_member(_MANIFEST), json.dumps(manifest, ensure_ascii=True).encode("ascii"))


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.external_attr = 0o644 << 16  # unzip extracts readable files
    return info


# --- loading --------------------------------------------------------------------------------------

# What zipfile and file reads raise on a damaged archive. CheckpointError (a ValueError) is
# re-raised before these are caught.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                struct.error, NotImplementedError, OverflowError)


def load(path) -> dict:
    """Read a file written by ``save`` back into nested dicts of arrays, complete or not at all.

    A truncated, corrupt or foreign file raises ``CheckpointError`` naming it; a missing file
    raises ``CheckpointNotFoundError``, which is also the ``FileNotFoundError`` ``open()`` raises.
    """
    path = _path("nn.load", path)
    try:
        f, size = _files.open_regular(path)
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"nn.load: no such file: {path}; check the name and the "
                                      "folder (nn.save(state, path) writes it)", path) from None
    except OSError as e:
        fix = {errno.EACCES: "check its permissions", errno.EPERM: "check its permissions"}.get(
            e.errno, "pass the checkpoint file itself")
        raise CheckpointError(f"nn.load: cannot read {path}: {e.strerror or e}; {fix}") from None
    with f:
        try:
            if f.read(6) == b"\x93NUMPY":
                raise CheckpointError(f"nn.load: cannot read {path}: it holds a single array "
                                      "(an .npy file), not a checkpoint; read it with np.load")
            f.seek(0)
            return _read(f, size, path)
        except CheckpointError:
            raise
        except _READ_ERRORS as e:
            raise CheckpointError(f"nn.load: cannot read {path}: it is truncated, corrupt or not "
                                  f"an .npz checkpoint ({type(e).__name__}: {e}); restore it from "
                                  "a backup or save it again") from None


def _damaged(path: str, what: str) -> CheckpointError:
    return CheckpointError(f"nn.load: {path} is damaged or was not written by nn.save: {what}; "
                           "restore it from a backup or save it again")


def _read(f, size: int, path: str) -> dict:
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        members = {info.filename: info for info in infos}
        if _MANIFEST not in members:
            if _FORMAT_1_MARKER in members:
                raise CheckpointError(
                    f"nn.load: {path} was written by an older tinygrad_np (checkpoint format 1), "
                    "whose files cannot be checked for completeness; read its arrays with "
                    "np.load(path) (nested keys are joined with '/') and nn.save them again")
            raise CheckpointError(f"nn.load: {path} is an .npz file but not a tinygrad_np "
                                  f"checkpoint (no {_MANIFEST} member); read plain arrays with "
                                  "np.load")
        if len(members) != len(infos):
            raise _damaged(path, "a member name appears twice")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & _UNREADABLE_FLAGS:
                raise _damaged(path, f"member {info.filename} is compressed or encrypted, and "
                                     "nn.save stores members as they are (nothing to inflate)")
            if info.file_size != info.compress_size:
                raise _damaged(path, f"member {info.filename} has two different sizes")
        claimed = sum(info.file_size for info in infos)
        if claimed > size:  # members cannot hold more bytes than the file has
            raise _damaged(path, f"its members claim {claimed} bytes, but the file has {size}")

        with zf.open(members[_MANIFEST]) as member:
            raw = member.read()
        if zlib.crc32(raw) != members[_MANIFEST].CRC:
            raise _damaged(path, "the manifest fails its CRC-32 check")
        entries = _parse_manifest(raw, path)

        # the tree, with a placeholder for each array: dicts keep the file's key order
        state: dict = {}
        dicts = {(): state}
        slots = []
        for entry in entries:
            keys = tuple(entry["path"])
            parent = dicts.get(keys[:-1])
            if parent is None:
                raise _damaged(path, f"the manifest lists {_where(keys)} before its parent "
                                     "dict, or inside an array")
            if keys[-1] in parent:
                raise _damaged(path, f"the manifest lists {_where(keys)} twice")
            if "dtype" in entry:
                parent[keys[-1]] = None
                slots.append((parent, keys, entry))
            else:
                parent[keys[-1]] = dicts[keys] = {}
        expected = {_MANIFEST} | {f"{k}.npy" for k in range(len(slots))}
        if set(members) != expected:
            missing, extra = sorted(expected - set(members)), sorted(set(members) - expected)
            raise _damaged(path, f"the manifest and the members disagree (missing {missing[:5]}, "
                                 f"unexpected {extra[:5]}, of {len(missing)} and {len(extra)})")
        for k, (parent, keys, entry) in enumerate(slots):
            arr = _read_array(zf, members[f"{k}.npy"], entry, keys, path)
            parent[keys[-1]] = arr if "python" not in entry else _PYTHON[entry["python"]][0](
                arr.item())
    return state


def _parse_manifest(raw: bytes, path: str) -> list[dict]:
    """The manifest's entries, each checked for its type and fields."""

    def no_repeats(pairs):
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("a JSON object repeats a key")
        return dict(pairs)

    try:
        doc = json.loads(raw.decode("ascii"), object_pairs_hook=no_repeats)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise _damaged(path, f"the manifest is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise _damaged(path, "the manifest does not describe a tinygrad_np checkpoint")
    if doc.get("version") not in _READS:
        raise CheckpointError(f"nn.load: {path} is checkpoint format version "
                              f"{doc.get('version')!r}; this tinygrad_np reads versions "
                              f"{_READS[0]} to {_READS[-1]}: load it with the tinygrad_np that "
                              "wrote it")
    fields = {"path", "dtype", "shape", "crc32"} | ({"python"} if doc["version"] >= 3 else set())
    entries = doc.get("entries")
    if not isinstance(entries, list) or set(doc) != {"format", "version", "entries"}:
        raise _damaged(path, "the manifest has no list of entries")
    for entry in entries:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), list)
                and entry["path"] and all(isinstance(k, str) for k in entry["path"])):
            raise _damaged(path, f"manifest entry {str(entry)[:80]} has no key path")
        if set(entry) == {"path"}:
            continue
        if not {"path", "dtype", "shape", "crc32"} <= set(entry) <= fields:
            raise _damaged(path, f"the manifest entry of {_where(entry['path'])} has fields "
                                 f"{sorted(entry)}")
        entry["dtype"] = _parse_dtype(entry, path)
        python = _PYTHON.get(entry["python"]) if isinstance(entry.get("python"), str) else None
        if "python" in entry and (python is None or entry["shape"] != []
                                  or entry["dtype"].kind not in python[1]):
            raise _damaged(path, f"the manifest says {_where(entry['path'])} was a Python "
                                 f"{str(entry['python'])[:20]} but gives it dtype "
                                 f"{entry['dtype']} and shape {str(entry['shape'])[:40]}")
        shape, crc = entry["shape"], entry["crc32"]
        if not (isinstance(shape, list) and len(shape) <= _MAX_NDIM
                and all(type(n) is int and n >= 0 for n in shape)
                and math.prod(n for n in shape if n) * entry["dtype"].itemsize <= sys.maxsize
                and type(crc) is int and 0 <= crc < 2**32):
            raise _damaged(path, f"the manifest gives {_where(entry['path'])} shape "
                                 f"{str(shape)[:80]} and checksum {str(crc)[:20]}")
    return entries


def _parse_dtype(entry: dict, path: str) -> np.dtype:
    text = entry["dtype"]
    try:
        # the longest dtype nn.save writes is a long string's, such as '<U536870911'
        dtype = np.dtype(text) if isinstance(text, str) and len(text) <= 16 else None
    except (TypeError, ValueError, SyntaxError):
        dtype = None
    # the exact spelling nn.save writes, of a kind .npy stores without pickle
    if (dtype is None or dtype.str != text or dtype.kind not in _KINDS or dtype.names is not None
            or dtype.itemsize == 0):
        raise _damaged(path, f"the manifest gives {_where(entry['path'])} the dtype "
                             f"{str(text)[:40]!r}")
    return dtype


def _read_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, entry: dict, keys, path: str):
    """Read one member into a new array, after checking that the member holds its bytes."""
    dtype, shape = entry["dtype"], tuple(entry["shape"])
    nbytes = math.prod(shape) * dtype.itemsize
    with zf.open(info) as member:
        # a version 1.0 .npy file: magic, format version, 2-byte header length, header, data
        prefix = member.read(10)
        if len(prefix) != 10 or prefix[:8] != b"\x93NUMPY\x01\x00":
            raise _damaged(path, f"member {info.filename} is not an .npy file of version 1.0")
        header = member.read(int.from_bytes(prefix[8:], "little"))
        if info.file_size != 10 + len(header) + nbytes:
            raise _damaged(path, f"{_where(keys)} is {dtype} of shape {shape} ({nbytes} bytes), "
                                 f"but its member {info.filename} holds "
                                 f"{info.file_size - 10 - len(header)} bytes after its header")
        array = np.empty(shape, dtype)  # no larger than the member, thus than the file
        flat = array.reshape(-1).view(np.uint8)
        crc = zlib.crc32(header, zlib.crc32(prefix))
        for start in range(0, nbytes, _CHUNK):
            chunk = member.read(min(_CHUNK, nbytes - start))
            if len(chunk) != min(_CHUNK, nbytes - start):
                raise EOFError(f"member {info.filename} ends early")
            flat[start:start + len(chunk)] = np.frombuffer(chunk, np.uint8)
            crc = zlib.crc32(chunk, crc)
    if crc != info.CRC or crc != entry["crc32"]:
        raise _damaged(path, f"{_where(keys)} (member {info.filename}) fails its CRC-32 check")
    # the .npy header is there for np.load; it must agree with the manifest
    header_file = io.BytesIO(prefix + header)
    np.lib.format.read_magic(header_file)
    if np.lib.format.read_array_header_1_0(header_file) != (shape, False, dtype):
        raise _damaged(path, f"the .npy header of {info.filename} disagrees with the manifest")
    if dtype.kind == "b" and flat.size and flat.max() > 1:
        raise _damaged(path, f"{_where(keys)} is bool but holds bytes other than 0 and 1")
    return array
