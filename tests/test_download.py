"""The download path of mnist() / fashion_mnist(), for real (pooch over HTTP), against a server
on 127.0.0.1 serving small IDX files made here; the loaders' checksum tables point at them."""

import dataclasses
import gzip
import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from test_data import idx_bytes, small_set

from tinygrad_np import DataError, data

pytest.importorskip("pooch")

FILES = [f"{name}.gz" for name in data._FILES]


class Server:
    """A static file server in a thread; it counts requests and can answer some with an error."""

    def __init__(self, root: Path):
        self.root, self.requests, self.fail = root, [], {}
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                server.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                if name in server.fail:
                    self.send_error(server.fail[name])
                else:
                    super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def publish(self, arrays) -> dict:
        """Serve ``arrays`` as the four .gz files; return their md5s."""
        (self.root / "data").mkdir(exist_ok=True)
        md5 = {}
        for name, array in zip(FILES, arrays):
            blob = gzip.compress(idx_bytes(array))
            (self.root / "data" / name).write_bytes(blob)
            md5[name] = hashlib.md5(blob).hexdigest()
        return md5


@pytest.fixture
def server(tmp_path):
    (tmp_path / "www").mkdir()
    s = Server(tmp_path / "www")
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()
    s.thread.join(timeout=10)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty per-user cache; no data directory or URL from the environment."""
    monkeypatch.setenv("TINYGRAD_NP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for src in (data._MNIST, data._FASHION_MNIST):
        monkeypatch.delenv(src.dir_env, raising=False)
        monkeypatch.delenv(src.url_env, raising=False)
    return tmp_path / "cache"


def expect(monkeypatch, attr: str, md5: dict, **changes):
    """Make ``data.<attr>`` expect the small served files: their md5s and 20 / 10 images."""
    src = dataclasses.replace(getattr(data, attr), md5=md5, n_train=20, n_test=10,
                              system_dir=None, **changes)
    monkeypatch.setattr(data, attr, src)
    return src


def files_in(directory: Path) -> list:
    """Everything under ``directory``, temporary files included, as relative paths."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def arrays():
    return small_set(np.random.default_rng(0))


def check_same(loaded, arrays):
    assert [a.dtype for a in loaded] == [np.uint8, np.int64, np.uint8, np.int64]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, arrays))


def test_download_lands_verified_in_the_cache_and_is_not_repeated(server, cache, arrays,
                                                                   monkeypatch):
    md5 = server.publish(arrays)
    expect(monkeypatch, "_MNIST", md5)
    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert sorted(server.requests) == sorted(f"/data/{name}" for name in FILES)
    assert files_in(cache) == ["mnist"] + [f"mnist/{name}" for name in sorted(FILES)]
    for name in FILES:
        assert hashlib.md5((cache / "mnist" / name).read_bytes()).hexdigest() == md5[name]

    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert len(server.requests) == 4  # the second call found all four files in the cache


def test_base_url_from_the_environment_and_fashion_mnist_has_its_own_folder(server, cache,
                                                                              arrays, monkeypatch):
    expect(monkeypatch, "_FASHION_MNIST", server.publish(arrays))
    monkeypatch.setenv("TINYGRAD_NP_FASHION_MNIST_URL", server.url)
    check_same(data.fashion_mnist(progress=False), arrays)
    assert len(server.requests) == 4
    assert files_in(cache / "fashion-mnist") == sorted(FILES)


def test_checksum_mismatch_raises_and_keeps_nothing(server, cache, arrays, monkeypatch):
    md5 = server.publish(arrays)
    md5["train-images-idx3-ubyte.gz"] = "0" * 32
    expect(monkeypatch, "_MNIST", md5)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz failed: .*hash") as info:
        data.mnist(base_url=server.url, progress=False)
    assert "Nothing was kept" in str(info.value) and server.url in str(info.value)
    assert files_in(cache / "mnist") == []


@pytest.mark.parametrize("status", [404, 500])
def test_server_error_raises_and_keeps_nothing_for_that_file(server, cache, arrays, monkeypatch,
                                                             status):
    md5 = server.publish(arrays)
    expect(monkeypatch, "_MNIST", md5)
    server.fail["t10k-images-idx3-ubyte.gz"] = status
    with pytest.raises(DataError, match=f"t10k-images-idx3-ubyte.gz failed: {status}"):
        data.mnist(base_url=server.url, progress=False)
    kept = files_in(cache / "mnist")
    assert kept == sorted(["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
    for name in kept:  # what was kept is complete and verified
        assert hashlib.md5((cache / "mnist" / name).read_bytes()).hexdigest() == md5[name]

    server.fail.clear()  # the server recovers: only the two missing files are fetched
    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert server.requests[-2:] == ["/data/t10k-images-idx3-ubyte.gz",
                                    "/data/t10k-labels-idx1-ubyte.gz"]


def test_a_damaged_cached_file_is_downloaded_again(server, cache, arrays, monkeypatch):
    expect(monkeypatch, "_MNIST", server.publish(arrays))
    data.mnist(base_url=server.url, progress=False)
    (cache / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    check_same(data.mnist(base_url=server.url, progress=False), arrays)
    assert server.requests[4:] == ["/data/train-labels-idx1-ubyte.gz"]


def test_missing_pooch_names_the_extra(cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)
    with pytest.raises(ImportError, match=r"downloading MNIST needs pooch.*tinygrad-np\[data\]"):
        data.mnist()
