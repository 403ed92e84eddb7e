"""Reading and replacing files safely: shared by nn.save / nn.load and the data-set downloader.

Reading: ``open_regular`` opens without blocking and refuses anything but a regular file, since
opening a FIFO for reading waits for a writer forever, and a device never ends.

Writing: ``replaced(path)`` writes a temporary file beside ``path``, flushes it to disk, renames it
over ``path`` and flushes the folder, so a crash leaves either the old file or the new one, and the
rename survives a power cut. A writer killed before the rename cannot remove its temporary file,
so the temporary's name carries the writer's host and process id: each later write into the same
folder removes the temporaries of writers that no longer run, and never those of a live one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
import zlib

# <target name>.tmp-<host tag>-<pid>-<random>
_TEMP = re.compile(r".+\.tmp-(?P<host>[0-9a-f]{8})-(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}", re.S)
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


def open_regular(path):
    """Open ``path`` for binary reading if it is a regular file; return ``(file, size)``.

    Anything else raises OSError whose ``strerror`` says what the path is instead.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: a FIFO opens at once instead of waiting for a writer
    try:
        st = os.fstat(fd)  # the file just opened, not whatever the name points at by now
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise OSError(errno.EINVAL, f"it is {kind}, not a regular file", os.fspath(path))
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _host_tag() -> str:
    """Eight hex digits for this host and pid namespace: a process id means nothing elsewhere."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # Linux; containers have their own
    except OSError:
        namespace = ""
    tag = zlib.crc32(f"{socket.gethostname()} {namespace}".encode())
    return f"{tag:08x}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or not a pid at all
        return True
    return True


def remove_stale_temporaries(folder) -> list[str]:
    """Delete the temporaries in ``folder`` left by writers on this host that no longer run.

    Best effort: a file that cannot be removed is left. Returns the names removed.
    """
    if os.name != "posix":  # on Windows os.kill(pid, 0) would terminate the process
        return []
    host, removed = _host_tag(), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if (match and match["host"] == host and not _running(int(match["pid"]))
                and entry.is_file(follow_symlinks=False)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _create_temporary(path: str) -> tuple[int, str]:
    """Create a new file beside ``path`` with the permissions ``open(path, "wb")`` would give it."""
    try:
        mode = os.stat(path).st_mode & 0o777  # overwriting keeps the file's permissions
    except OSError:
        mode = None  # a new file: 0o666 less the umask, as open() creates it
    folder, name = os.path.split(path)
    while len(os.fsencode(name)) > 200:  # room for the suffix within the usual 255-byte limit
        name = name[:-1]
    prefix = os.path.join(folder, f"{name}.tmp-{_host_tag()}-{os.getpid()}-")
    while True:
        tmp = prefix + secrets.token_hex(4)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.chmod(tmp, mode)
            except BaseException:
                os.close(fd)
                os.unlink(tmp)
                raise
        return fd, tmp


def _fsync_folder(folder: str) -> None:
    """Flush the folder itself: on POSIX a rename is durable only once its folder is on disk.

    Best effort: the new file is already in place and flushed, so a folder that cannot be opened
    (write-only) or flushed (some file systems) weakens only what survives a power cut, and must
    not make the caller report a write that happened as failed.
    """
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def replaced(path: str):
    """Yield a binary file that replaces ``path`` atomically when the block ends without error.

    On any error, or if the block raises, ``path`` is left as it was and the temporary removed.
    ``path`` must not be a symlink: resolve it first (``os.path.realpath``) to write through.
    """
    folder = os.path.dirname(path) or "."
    remove_stale_temporaries(folder)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
