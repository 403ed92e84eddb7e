"""What an installed tinygrad_np says about itself: its version, its public names, its types."""

import importlib.metadata
from pathlib import Path

import tinygrad_np as tg
from tinygrad_np import data


def test_the_installed_version_is_the_package_version():
    # pyproject.toml reads it from tinygrad_np.__version__: one place to change it
    assert importlib.metadata.version("tinygrad-np") == tg.__version__


def test_data_exports_its_api_and_nothing_it_imports():
    public = {name for name in dir(data) if not name.startswith("_")}
    assert set(data.__all__) <= public
    for name in ("np", "os", "gzip", "math", "Path", "Tensor"):
        assert name not in data.__all__
    namespace: dict = {}
    exec("from tinygrad_np.data import *", namespace)
    assert {"DataLoader", "mnist", "train_test_split"} <= set(namespace) and "np" not in namespace


def test_the_package_says_it_has_type_annotations():
    assert (Path(tg.__file__).parent / "py.typed").is_file()
