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
    the top of the heap), and the next allocation of the same size faults the pages in again,
    one 4 KB page at a time. Training allocates and frees the same few-MB temporaries every
    step, so it pays that every step (``make bench`` measures the W3 rows with and without this
    call; ``benchmarks/README.md`` has the figures).

    What it does (glibc ``mallopt``): blocks up to ``min(max_mb, 32)`` MB are served from the
    heap (M_MMAP_THRESHOLD), and the heap is only trimmed once more than ``max_mb`` MB is free
    at its top (M_TRIM_THRESHOLD). Both are set, because setting either one turns off glibc's
    dynamic thresholds, and either one alone does not stop the faults.

    Cost: up to ``max_mb`` MB of freed memory stays in the process instead of going back to the
    OS, so the resident size stays near its high-water mark between steps. Arrays larger than
    ``min(max_mb, 32)`` MB are still mapped and unmapped each time, as before.

    Undoing it: not possible within the process (glibc's starting values can be set again, but
    not its dynamic adjustment). Restart the process to get the default back.

    Returns True if glibc accepted both settings, False where this cannot work (not Linux with
    glibc: macOS, Windows, musl); then it changes nothing and does not raise.
    """
    if isinstance(max_mb, bool) or not isinstance(max_mb, int) or not 0 < max_mb <= _MAX_MB:
        raise ArgumentError(f"retain_freed_memory: max_mb is how many MB of freed memory to keep "
                            f"and must be a positive int of at most {_MAX_MB}, got {max_mb!r}; "
                            "pass e.g. max_mb=32 (the default)")
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
