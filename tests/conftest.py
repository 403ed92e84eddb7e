"""What the tests need from outside Python, and one rule for it.

- Graphviz's `dot`: `make test` installs it, so a test that renders (marked ``needs_dot``) never
  skips; without `dot` it fails, saying how to get it.
- PyTorch (the reference for the cross-checks, no dependency) and the real 60,000-image data
  sets: `make test` cannot fetch those by itself, so their tests skip, and the skip says how to
  enable them (``needs_torch``, and the ``mnist_dir`` / ``fashion_mnist_dir`` fixtures).
  `.ci/run` enables all three.
- The network: no test goes past this machine. Downloads are tested against a server on
  127.0.0.1 that the test starts (test_download.py); a name or address that is not loopback
  fails at once, before any packet is sent.
"""

import importlib.util
import ipaddress
import os
import shutil
import socket
from pathlib import Path

import pytest

DOT_MISSING = ("Graphviz's dot program is not installed: `make test` installs it (or apt-get "
               "install graphviz / brew install graphviz), then run the tests again")
TORCH_MISSING = ("PyTorch, the reference for this cross-check, is not installed: its CPU build "
                 "enables it, `.venv/bin/python -m pip install torch --index-url "
                 "https://download.pytorch.org/whl/cpu` (.ci/run installs the wheel this "
                 "machine keeps)")
MNIST_MISSING = ("real MNIST: set TINYGRAD_NP_MNIST_DIR to a directory holding its four IDX "
                 "files to run this (.ci/run uses ../shared/datasets/mnist)")
FASHION_MISSING = ("real Fashion-MNIST: `apt-get install dataset-fashion-mnist` (Debian; .ci/run "
                   "does) or set TINYGRAD_NP_FASHION_MNIST_DIR to a directory holding its four "
                   "IDX files to run this")


def pytest_configure(config):
    # One BLAS thread for the whole run: the tests' arrays are small, and on a busy 2-core
    # machine a second thread makes them many times slower (the examples do the same).
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        config._blas_limits = threadpool_limits(limits=1, user_api="blas")
    config.addinivalue_line("markers", "needs_dot: renders with Graphviz's dot (`make test` "
                                       "installs it); fails when it is missing")
    config.addinivalue_line("markers", "needs_torch: compares with PyTorch; skips, saying how "
                                       "to install it, when it is missing")


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("torch") is None:
        for item in items:
            if item.get_closest_marker("needs_torch"):
                item.add_marker(pytest.mark.skip(reason=TORCH_MISSING))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("needs_dot") and shutil.which("dot") is None:
        pytest.fail(DOT_MISSING, pytrace=False)


@pytest.fixture
def mnist_dir() -> Path:
    """$TINYGRAD_NP_MNIST_DIR, else skip. A path that is wrong fails the test: no silent skip."""
    path = os.environ.get("TINYGRAD_NP_MNIST_DIR")
    if not path:
        pytest.skip(MNIST_MISSING)
    return Path(path)


@pytest.fixture
def fashion_mnist_dir() -> Path:
    """$TINYGRAD_NP_FASHION_MNIST_DIR, else Debian's copy, else skip (never a download)."""
    from tinygrad_np import data

    path = os.environ.get("TINYGRAD_NP_FASHION_MNIST_DIR")
    if path:
        return Path(path)
    if not data._FASHION_MNIST.system_dir.is_dir():
        pytest.skip(FASHION_MISSING)
    return data._FASHION_MNIST.system_dir


# --- no network ------------------------------------------------------------------------------


def _is_local(host) -> bool:
    if host is None:  # getaddrinfo(None, port): this machine
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host.lower() in ("", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Every test: only loopback names and addresses resolve or connect."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(host):
        raise OSError(f"tests do not use the network: {host!r} is not this machine (serve test "
                      "files from 127.0.0.1, as tests/test_download.py does)")

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo(host, *args, **kwargs) if _is_local(host) else refuse(host)

    def checked(real):
        def connect(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
                refuse(address[0])
            return real(self, address)
        return connect

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        mp.setattr(socket.socket, "connect", checked(real_connect))
        mp.setattr(socket.socket, "connect_ex", checked(real_connect_ex))
        yield
