"""Opt-in tuning of glibc's malloc so that freed NumPy temporaries are reused, not re-faulted.

Nothing here runs at import: changing how the whole process allocates memory is the user's call.
"""

import ctypes
import os
import sys

from .errors import ArgumentError

# mallopt() parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap instead of a fresh mmap. 32 MB is the ceiling of
# glibc's own dynamic threshold on 64-bit, and older glibc rejects anything above it.
_MMAP_CAP_MB = 32
# mallopt() takes a C int of bytes.
_MAX_MB = (2**31 - 1) >> 20


def retain_freed_memory(max_mb: int = 32) -> bool:
    """Ask glibc to keep up to ``max_mb`` MB of freed heap for reuse instead of returning it.

    Why: by default glibc hands large freed blocks back to the kernel (it unmaps them, or trims
    the top of the heap) and the next allocation of the same size faults the pages in again, one
    4 KB page at a time. Training allocates and frees the same few-MB temporaries every step, so
    it pays that every step. Measured on the W3 benchmark (full-batch 1000x784-512-10 MLP, SGD,
    one BLAS thread, glibc 2.36, a shared 2-core machine): tinygrad_np took 1968 to 2469 minor
    page faults per step and 2.1 to 2.3 s per 100 steps by default, 0 faults and 1.74 to 1.80 s
    after this call (PyTorch: 1.84 s); NumPy by hand behaves the same (2.2 to 2.3 s, then 0
    faults and 1.73 to 1.83 s).

    What it does (glibc ``mallopt``): blocks up to ``min(max_mb, 32)`` MB are served from the
    heap (M_MMAP_THRESHOLD), and the heap is only trimmed once more than ``max_mb`` MB is free
    at its top (M_TRIM_THRESHOLD). Both are set because setting either one turns off glibc's
    dynamic thresholds: the trim threshold alone made W3 slower than the default, the mmap
    threshold alone did not help. The default of 32 MB is about three times what W3 needs:
    its faults stopped at a retention of 8 MB for tinygrad_np and 11 MB for NumPy by hand
    (at 7 and 10 MB they did not).

    Cost: up to ``max_mb`` MB of freed memory stays in the process (at the top of each malloc
    arena) instead of going back to the OS, so RSS stays near its high-water mark between
    steps (W3 peaked at 54 to 57 MB of RSS either way). Arrays larger than the mmap
    threshold, ``min(max_mb, 32)`` MB, are still mapped and unmapped each time, as before.

    Undoing it: not possible within the process. Calling ``mallopt`` again with glibc's
    starting values (M_MMAP_THRESHOLD and M_TRIM_THRESHOLD both 128 KB) restores those values
    but not the dynamic adjustment (checked: afterwards every 2 MB block is mmapped anew on
    every allocation, unlike the default). Restart the process to get the default back.

    Returns True if glibc accepted both settings, False where this cannot work (not Linux with
    glibc: macOS, Windows, musl); then it changes nothing and does not raise.
    """
    if isinstance(max_mb, bool) or not isinstance(max_mb, int) or not 0 < max_mb <= _MAX_MB:
        raise ArgumentError(f"retain_freed_memory: max_mb is how many MB of freed memory to keep "
                         f"and must be a positive int of at most {_MAX_MB}, got {max_mb!r}; "
                         f"pass e.g. max_mb=32 (the default)")
    if not sys.platform.startswith("linux"):
        return False
    try:  # glibc answers "glibc 2.36"; musl has no such name (ValueError) or answers None
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (ValueError, OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, min(max_mb, _MMAP_CAP_MB) << 20)
    trim_ok = mallopt(_M_TRIM_THRESHOLD, max_mb << 20)
    return mmap_ok == 1 and trim_ok == 1
