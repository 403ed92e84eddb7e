"""The download path of mnist() / fashion_mnist(), for real over HTTP, against a server on
127.0.0.1 serving small IDX files made here; the loaders' checksum and size tables point at them.
The server can also misbehave: fail with a status, stream an endless body, trickle, stall, reset
the connection mid-body, or serve another file."""

import dataclasses
import errno
import gzip
import hashlib
import http.server
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_data import idx_bytes, small_set

from tinygrad_np import DataError, data

pytest.importorskip("pooch")

FILES = [f"{name}.gz" for name in data._FILES]


class Server:
    """A file server in a thread. ``plan[name]`` lists how to answer the next requests for
    ``name`` (a status code, or one of the modes in ``do_GET``); then it serves the file."""

    def __init__(self, root: Path):
        self.root, self.requests, self.plan = root, [], {}
        self.stopping = threading.Event()
        self.trickle = 0.05  # seconds between bytes in "trickle" mode
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                server.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                plan = server.plan.get(name)
                mode = plan.pop(0) if plan else None
                if mode is None:
                    return super().do_GET()
                if isinstance(mode, int):
                    return self.send_error(mode)
                body = (root / "data" / name).read_bytes()
                try:
                    self.misbehave(mode, body)
                except OSError:  # the client gave up: as it should
                    pass

            def misbehave(self, mode, body):
                self.send_response(200)
                if mode == "wrong":  # another file of the same size
                    body = bytes(len(body))
                length = {"endless": None, "huge": 10**12}.get(mode, len(body))
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                if mode == "wrong":
                    self.wfile.write(body)
                elif mode in ("endless", "huge"):
                    while not server.stopping.is_set():
                        self.wfile.write(bytes(1 << 16))
                elif mode == "trickle":
                    for i in range(len(body)):
                        if server.stopping.wait(server.trickle):
                            return
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                elif mode == "stall":
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    server.stopping.wait(30)
                elif mode == "reset":  # half the body, then a TCP reset
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def publish(self, arrays) -> dict:
        """Serve ``arrays`` as the four .gz files; return their md5s and sizes."""
        (self.root / "data").mkdir(exist_ok=True)
        md5, sizes = {}, {}
        for name, array in zip(FILES, arrays):
            blob = gzip.compress(idx_bytes(array))
            (self.root / "data" / name).write_bytes(blob)
            md5[name], sizes[name] = hashlib.md5(blob).hexdigest(), len(blob)
        return {"md5": md5, "sizes": sizes}

    def count(self, name: str) -> int:
        return self.requests.count(f"/data/{name}")


@pytest.fixture
def server(tmp_path):
    (tmp_path / "www").mkdir()
    s = Server(tmp_path / "www")
    s.thread.start()
    yield s
    s.stopping.set()
    s.httpd.shutdown()
    s.httpd.server_close()
    s.thread.join(timeout=10)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty per-user cache; no data directory, URL or timeout from the environment; short
    waits between attempts."""
    monkeypatch.setenv("TINYGRAD_NP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("TINYGRAD_NP_DOWNLOAD_TIMEOUT", raising=False)
    monkeypatch.setattr(data, "_BACKOFF", 0.02)
    for src in (data._MNIST, data._FASHION_MNIST):
        monkeypatch.delenv(src.dir_env, raising=False)
        monkeypatch.delenv(src.url_env, raising=False)
    return tmp_path / "cache"


def expect(monkeypatch, attr: str, published: dict, **changes):
    """Make ``data.<attr>`` expect the small served files: their md5s, sizes and 20 / 10 images."""
    src = dataclasses.replace(getattr(data, attr), md5=published["md5"],
                              sizes=published["sizes"], n_train=20, n_test=10, system_dir=None,
                              **changes)
    monkeypatch.setattr(data, attr, src)
    return src


def files_in(directory: Path) -> list:
    """Everything under ``directory``, temporary files included, as relative paths."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def arrays():
    return small_set(np.random.default_rng(0))


@pytest.fixture
def published(server, arrays, monkeypatch):
    published = server.publish(arrays)
    expect(monkeypatch, "_MNIST", published)
    return published


def check_same(loaded, arrays):
    assert [a.dtype for a in loaded] == [np.uint8, np.int64, np.uint8, np.int64]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, arrays))


def kept_only_verified(cache: Path, published: dict, names) -> None:
    """The cache holds exactly ``names``, each complete and verified: no temporary file."""
    assert files_in(cache / "mnist") == sorted(names)
    for name in names:
        assert hashlib.md5((cache / "mnist" / name).read_bytes()).hexdigest() == \
            published["md5"][name]


def test_download_lands_verified_in_the_cache_and_is_not_repeated(server, cache, arrays,
                                                                   published):
    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert sorted(server.requests) == sorted(f"/data/{name}" for name in FILES)
    assert files_in(cache) == ["mnist"] + [f"mnist/{name}" for name in sorted(FILES)]
    kept_only_verified(cache, published, FILES)

    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert len(server.requests) == 4  # the second call found all four files in the cache


def test_base_url_from_the_environment_and_fashion_mnist_has_its_own_folder(server, cache,
                                                                              arrays, monkeypatch):
    expect(monkeypatch, "_FASHION_MNIST", server.publish(arrays))
    monkeypatch.setenv("TINYGRAD_NP_FASHION_MNIST_URL", server.url)
    check_same(data.fashion_mnist(progress=False), arrays)
    assert len(server.requests) == 4
    assert files_in(cache / "fashion-mnist") == sorted(FILES)


def test_official_sizes_bound_every_file():
    for src in (data._MNIST, data._FASHION_MNIST):
        assert set(src.sizes) == set(src.md5) == set(FILES)
    assert data._MNIST.sizes["train-images-idx3-ubyte.gz"] == 9912422


@pytest.mark.parametrize("how", ["table", "server"])
def test_a_wrong_checksum_fails_at_once_and_keeps_nothing(server, cache, published, how,
                                                         monkeypatch):
    name = "train-images-idx3-ubyte.gz"
    if how == "table":
        published["md5"][name] = "0" * 32
        expect(monkeypatch, "_MNIST", published)
    else:
        server.plan[name] = ["wrong"]
    with pytest.raises(DataError, match=f"{name} failed: its md5 is .*the official file's") \
            as info:
        data.mnist(base_url=server.url, progress=False)
    assert "Nothing was kept" in str(info.value) and server.url in str(info.value)
    assert server.count(name) == 1  # not retried: a mirror serving another file stays wrong
    assert files_in(cache / "mnist") == []


def test_a_404_fails_at_once_and_keeps_only_the_verified_files(server, cache, arrays, published):
    server.plan["t10k-images-idx3-ubyte.gz"] = [404]
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz failed: HTTP 404 Not Found. "):
        data.mnist(base_url=server.url, progress=False)
    assert server.count("t10k-images-idx3-ubyte.gz") == 1
    kept_only_verified(cache, published, ["train-images-idx3-ubyte.gz",
                                          "train-labels-idx1-ubyte.gz"])

    check_same(data.mnist(base_url=server.url, progress=False), arrays)  # only the missing two
    assert server.requests[-2:] == ["/data/t10k-images-idx3-ubyte.gz",
                                    "/data/t10k-labels-idx1-ubyte.gz"]


def test_transient_errors_are_retried_with_backoff(server, cache, arrays, published):
    server.plan["train-labels-idx1-ubyte.gz"] = [500, 503]
    server.plan["t10k-images-idx3-ubyte.gz"] = ["reset"]
    server.plan["t10k-labels-idx1-ubyte.gz"] = [429]
    start = time.monotonic()
    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert time.monotonic() - start >= 0.02 + 0.04 + 0.02 + 0.02  # 1, 2, 1 and 1 waits
    assert [server.count(name) for name in FILES] == [1, 3, 2, 2]
    kept_only_verified(cache, published, FILES)


def test_a_server_that_keeps_failing_gives_up_after_three_attempts(server, cache, published):
    server.plan["train-images-idx3-ubyte.gz"] = [500] * 5
    with pytest.raises(DataError, match=r"HTTP 500 Internal Server Error \(3 attempts\)"):
        data.mnist(base_url=server.url, progress=False)
    assert server.count("train-images-idx3-ubyte.gz") == 3
    assert files_in(cache / "mnist") == []


@pytest.mark.parametrize("mode, words", [
    ("endless", r"the server sent more than the \d+ bytes of the official file"),
    ("huge", r"the server announces 1000000000000 bytes; the official file has \d+"),
])
def test_a_body_larger_than_the_official_file_is_cut_off(server, cache, published, mode, words):
    server.plan["train-images-idx3-ubyte.gz"] = [mode]
    start = time.monotonic()
    with pytest.raises(DataError, match=words):
        data.mnist(base_url=server.url, progress=False)
    assert time.monotonic() - start < 5
    assert server.count("train-images-idx3-ubyte.gz") == 1
    assert files_in(cache / "mnist") == []


def test_a_trickling_server_is_stopped_at_the_deadline(server, cache, published):
    server.plan["train-labels-idx1-ubyte.gz"] = ["trickle"]
    start = time.monotonic()
    with pytest.raises(DataError, match=r"took longer than the 0.5 s allowed for the file "
                                        r"\(\d+ of \d+ bytes arrived\); pass timeout="):
        data.mnist(base_url=server.url, progress=False, timeout=0.5)
    assert 0.5 <= time.monotonic() - start < 3
    kept_only_verified(cache, published, ["train-images-idx3-ubyte.gz"])


def test_a_stalled_server_is_stopped_at_the_deadline(server, cache, published, monkeypatch):
    monkeypatch.setenv("TINYGRAD_NP_DOWNLOAD_TIMEOUT", "0.5")
    server.plan["train-images-idx3-ubyte.gz"] = ["stall"]
    start = time.monotonic()
    with pytest.raises(DataError, match=r"broke after 10 of \d+ bytes \(TimeoutError.*the 0.5 s "
                                        "allowed for the file ran out"):
        data.mnist(base_url=server.url, progress=False)
    assert time.monotonic() - start < 3  # the deadline plus at most one read
    assert files_in(cache / "mnist") == []


@pytest.mark.parametrize("timeout, words", [
    (0, "timeout= is 0"), (-1, "timeout= is -1"), ("soon", "timeout= is 'soon'"),
    (float("nan"), "timeout= is nan"),
])
def test_a_bad_timeout_is_refused(cache, timeout, words):
    with pytest.raises(DataError, match=f"{words}; it is the seconds each downloaded file may"):
        data.mnist(timeout=timeout)


def test_a_full_disk_in_the_cache_keeps_nothing(server, cache, published, monkeypatch):
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def fileno(self):
            return self.f.fileno()

        def close(self):
            self.f.close()
            super().close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(DataError, match="cannot write .*train-images-idx3-ubyte.gz: No space "
                                        "left on device; nothing was kept"):
        data.mnist(base_url=server.url, progress=False)
    assert files_in(cache / "mnist") == []


KILLED_DOWNLOAD = """
import dataclasses, json, sys
from tinygrad_np import data
published = json.loads(sys.argv[2])
data._MNIST = dataclasses.replace(data._MNIST, md5=published["md5"], sizes=published["sizes"],
                                  n_train=20, n_test=10, system_dir=None)
data.mnist(base_url=sys.argv[1], progress=False)
"""


def test_a_download_killed_midway_leaves_a_temporary_that_the_next_one_removes(
        server, cache, arrays, published):
    server.plan["train-images-idx3-ubyte.gz"] = ["trickle"]
    child = subprocess.Popen([sys.executable, "-c", KILLED_DOWNLOAD, server.url,
                              json.dumps(published)])
    try:
        deadline = time.monotonic() + 60
        while not files_in(cache / "mnist"):  # the temporary file of the first download
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.01)
        time.sleep(0.2)  # a few bytes in
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    (temporary,) = files_in(cache / "mnist")
    assert temporary.startswith("train-images-idx3-ubyte.gz.tmp-")
    assert (cache / "mnist" / temporary).stat().st_size < published["sizes"][FILES[0]]

    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    kept_only_verified(cache, published, FILES)


def test_a_damaged_cached_file_is_downloaded_again(server, cache, arrays, published):
    data.mnist(base_url=server.url, progress=False)
    (cache / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert server.requests[4:] == ["/data/train-labels-idx1-ubyte.gz"]


def test_missing_pooch_names_the_extra(cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)
    with pytest.raises(ImportError, match=r"downloading MNIST needs pooch.*tinygrad-np\[data\]"):
        data.mnist()
