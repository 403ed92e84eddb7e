"""The benchmark code runs on tiny sizes, and its frameworks all compute the same training.

No timing is checked here (machines are noisy); `make bench` measures. The peers (PyTorch,
JAX, MyGrad, HIPS autograd) are checked where installed and skipped elsewhere (CI has no JAX,
MyGrad or autograd).
"""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `benchmarks` is a top-level package of the repository

from benchmarks.report import LOSS_ATOL  # noqa: E402
from benchmarks.run import FRAMEWORKS as ALL_ROWS  # noqa: E402
from benchmarks.run import make_trainer, train_steps  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    WORKLOADS,
    batches,
    initial_weights,
    start_weights,
    synthetic_data,
)


def _needs(module):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"{module} not installed")


# torch.compile is left to the harness's own check (test_every_installed_peer_...): compiling
# in this process would take longer than the rest of this file.
FRAMEWORKS = ["tinygrad_np", "tinygrad_np+anomaly",
              pytest.param("torch", marks=pytest.mark.needs_torch),  # see tests/conftest.py
              pytest.param("jax", marks=_needs("jax")),
              pytest.param("mygrad", marks=_needs("mygrad")),
              pytest.param("autograd", marks=_needs("autograd"))]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", ["W1", "W2", "W3"])
def test_frameworks_train_the_same_network(name, framework):
    """Same weights after 30 steps as the hand-written NumPy: the table compares like with like."""
    wl = dataclasses.replace(WORKLOADS[name], n_samples=500)
    reference = train_steps("numpy", wl, 30)
    got = train_steps(framework, wl, 30)
    moved = max(np.abs(r - w0).max() for r, w0 in zip(reference, (
        a for layer in initial_weights(wl.sizes) for a in layer)))
    assert moved > 1e-3  # training did something
    for r, g in zip(reference, got):
        assert r.shape == g.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, r, atol=2e-5, rtol=1e-4)


W4 = dataclasses.replace(WORKLOADS["W4"], n_samples=256)


def _w4_batch_and_weights(n=16):
    """A W4 batch and start weights with random biases, so that windows of an unlit patch tie
    at a positive maximum (the case where max-pool's gradient must go to one element only)."""
    X, y = synthetic_data(n)
    rng = np.random.default_rng(3)
    weights = [(W, (0.1 * rng.standard_normal(b.shape)).astype(np.float32))
               for W, b in start_weights(W4)]
    return X, y, weights


@pytest.mark.needs_torch
def test_hand_written_cnn_gradients_match_pytorch():
    import torch

    from benchmarks.numpy_by_hand import HandCNN
    from benchmarks.torch_impl import TorchTrainer

    X, y, weights = _w4_batch_and_weights()
    ours = HandCNN(W4, weights).gradients(X, y)
    net = TorchTrainer(W4, weights).model
    loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(X).view(-1, 1, 28, 28)),
                                             torch.from_numpy(y))
    loss.backward()
    theirs = []
    for layer in net:
        if isinstance(layer, torch.nn.Conv2d):
            theirs += [layer.weight.grad.numpy(), layer.bias.grad.numpy()]
        elif isinstance(layer, torch.nn.Linear):
            theirs += [layer.weight.grad.numpy().T, layer.bias.grad.numpy()]
    assert [g.shape for g in ours] == [g.shape for g in theirs]
    for g, want in zip(ours, theirs):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, want, atol=1e-6 * np.abs(want).max(), rtol=1e-4)


def test_hand_written_cnn_gradients_match_finite_differences():
    """In float64, without PyTorch: the written-out backward pass against central differences
    of ``reference_loss`` at a few coordinates of every parameter."""
    from benchmarks.numpy_by_hand import HandCNN, reference_loss

    X, y, weights = _w4_batch_and_weights(4)
    params = [a.astype(np.float64) for layer in weights for a in layer]
    net = HandCNN(W4, [params[i:i + 2] for i in range(0, len(params), 2)])
    grads = net.gradients(X.astype(np.float64), y)
    rng, eps = np.random.default_rng(0), 1e-6
    for p, g in zip(params, grads):
        for idx in map(tuple, rng.integers(0, p.shape, size=(4, p.ndim))):
            saved = p[idx]
            p[idx] = saved + eps
            up = reference_loss(W4, params, X, y)
            p[idx] = saved - eps
            down = reference_loss(W4, params, X, y)
            p[idx] = saved
            assert abs((up - down) / (2 * eps) - g[idx]) < 1e-6 + 1e-4 * abs(g[idx])


@pytest.mark.parametrize("framework", ["numpy",
                                       pytest.param("torch", marks=pytest.mark.needs_torch)])
def test_w4_trains_from_the_shared_weights(framework):
    reference = train_steps("numpy", W4, 5)
    got = train_steps(framework, W4, 5)
    start = [a for layer in start_weights(W4) for a in layer]
    assert max(np.abs(r - w0).max() for r, w0 in zip(reference, start)) > 1e-3
    for r, g in zip(reference, got):
        np.testing.assert_allclose(g, r, atol=2e-5, rtol=1e-4)


def test_w4_tinygrad_np_row_is_skipped_until_nn_has_conv2d():
    from benchmarks.workloads import Unavailable
    from tinygrad_np import nn

    if hasattr(nn, "Conv2d") and hasattr(nn, "MaxPool2d"):
        test_w4_trains_from_the_shared_weights("tinygrad_np")
    else:
        with pytest.raises(Unavailable, match="no Conv2d"):
            make_trainer("tinygrad_np", W4, start_weights(W4))


def test_matmul_floor_handles_a_short_last_batch():
    wl = dataclasses.replace(WORKLOADS["W2"], n_samples=300)  # batches of 128, 128, 44
    floor = make_trainer("floor", wl, initial_weights(wl.sizes))
    X, y = synthetic_data(wl.n_samples)
    stream = batches(wl, X, y)
    for _ in range(4):
        floor.step(*next(stream))
    assert sorted(floor.buffers) == [44, 128]


def test_synthetic_data_has_rarely_lit_pixels():
    """What makes Adam's state go subnormal on MNIST must be in the benchmark's data too."""
    X, y = synthetic_data(2000)
    lit = (X > 0).mean(axis=0)
    assert X.dtype == np.float32 and X.shape == (2000, 784) and 0 <= X.min() and X.max() <= 1
    assert lit.max() > 0.4 and ((lit > 0) & (lit < 0.01)).sum() > 50
    assert len(np.unique(y)) == 10


# What this kind of machine's environment sets, and the harness must not pass on
BAD_BLAS_ENV = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"}


def _bench(*args, env=None):
    cmd = [sys.executable, "-m", "benchmarks.run", "--smoke", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def _ran(data):
    return {(name, row): e for name, by_row in data["results"].items()
            for row, e in by_row.items() if e.get("median")}


def test_make_bench_smoke_writes_json_and_compares(tmp_path):
    first = _bench("--frameworks", "tinygrad_np,numpy,floor", "--out", str(tmp_path),
                   env=BAD_BLAS_ENV)
    assert first.returncode == 0, first.stderr
    for row in ("### W1: 784-128-64-10", "### W2: 784-32-10", "### W3: 1000x784-512-10",
                "### W4: MNIST CNN", "### Goals (issue 16)", "goal m", "| matmul |",
                "detect_anomaly off costs", "RSS", "Unset for every child: OPENBLAS_CORETYPE "
                "(was 'Haswell'), OPENBLAS_L2_SIZE (was '512')", "Load average"):
        assert row in first.stdout
    (path,) = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    assert set(data["results"]) == {"W1", "W2", "W3", "W4"}
    assert data["results"]["W1"]["tinygrad_np"]["median"] > 0
    assert data["machine"]["numpy"] == np.__version__
    assert data["unset_for_children"] == BAD_BLAS_ENV
    kernels = data["blas_kernels"]
    assert kernels and all(k["internal_api"] and k["version"] and k["architecture"]
                           for k in kernels)
    for (name, row), entry in _ran(data).items():
        assert entry["env_seen"]["OPENBLAS_CORETYPE"] is None, (name, row)
        assert entry["env_seen"]["OPENBLAS_L2_SIZE"] is None, (name, row)
        assert entry["env_seen"]["OPENBLAS_NUM_THREADS"] == "1"
        assert entry["blas"] and all(lib["architecture"] for lib in entry["blas"])
        if row != "floor":  # the same losses as hand-written NumPy, step by step
            losses = entry["checks"][0]["losses"]
            want = data["results"][name]["numpy"]["checks"][0]["losses"]
            assert len(losses) == 6 and np.allclose(losses, want, atol=LOSS_ATOL, rtol=0)
    assert data["memory"]["steps"] == [5, 10]
    retain = data["results"]["W3"]["tinygrad_np+retain"]  # glibc only: elsewhere it says why
    assert retain.get("median") or "needs glibc" in retain.get("error", ""), retain
    w4 = data["results"]["W4"]
    assert w4["numpy"]["median"] and w4["floor"]["median"]
    assert w4["tinygrad_np"].get("median") or "no Conv2d" in w4["tinygrad_np"]["skipped"]
    second = _bench("--frameworks", "tinygrad_np,numpy,floor", "--workloads", "W2",
                    "--no-save", "--out", str(tmp_path))
    assert second.returncode == 0, second.stderr
    assert "Against the previous run" in second.stdout and "- W2 numpy:" in second.stdout


def test_every_installed_peer_runs_and_trains_like_numpy(tmp_path):
    """Each peer installed runs in its own child and gives hand-written NumPy's first losses;
    each one missing is skipped with a line saying how to install it. JAX is pinned."""
    run = _bench("--workloads", "W2", "--no-extras", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    (path,) = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    w2 = data["results"]["W2"]
    for row in ALL_ROWS:
        if row in data["skipped"]:
            assert "install with" in data["skipped"][row]
            assert f"Skipped {row}: " in run.stdout
            continue
        assert w2[row]["median"] > 0, (row, w2[row])
        if row == "floor":
            continue
        losses, want = w2[row]["checks"][0]["losses"], w2["numpy"]["checks"][0]["losses"]
        assert np.allclose(losses, want, atol=LOSS_ATOL, rtol=0), row
        assert "DIFFER" not in run.stdout
    if "jax" in w2:
        (job,) = w2["jax"]["jobs"]
        assert w2["jax"]["cpus_allowed"] == [job["pinned_cpu"]]
        assert "pinned to CPU" in run.stdout


def test_baseline_runs_another_revision_from_its_own_checkout(tmp_path):
    run = _bench("--workloads", "W2", "--frameworks", "tinygrad_np", "--no-extras",
                 "--baseline", "HEAD", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    (path,) = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    row = data["baseline"]["row"]
    entry = data["results"]["W2"][row]
    assert entry["median"] > 0 and row.startswith("tinygrad_np@")
    assert f"tinygrad_np-{data['baseline']['rev']}-" in entry["tinygrad_np_file"]
    assert str(ROOT / "tinygrad_np") not in entry["tinygrad_np_file"]
    assert "### Before / after" in run.stdout
    worktrees = subprocess.run(["git", "worktree", "list"], capture_output=True, text=True,
                               cwd=ROOT).stdout
    assert "tinygrad_np-" not in worktrees  # removed afterwards


def test_profile_prints_the_phases_of_a_step(capsys):
    from benchmarks.profile import main

    main(["W3", "--steps", "3", "--warmup", "1"])
    out = capsys.readouterr().out
    for phase in ("forward + loss", "backward", "optimizer step", "matmuls alone"):
        assert phase in out


def test_profile_counts_adams_subnormals_and_leaves_training_state_as_it_was():
    from benchmarks.profile import adam_subnormals

    wl = dataclasses.replace(WORKLOADS["W1"], n_samples=320)
    trainer = make_trainer("tinygrad_np", wl, initial_weights(wl.sizes))
    X, y = synthetic_data(wl.n_samples)
    stream = batches(wl, X, y)
    for _ in range(20):
        trainer.step(*next(stream))
    trainer.opt.state[0]["exp_avg"].flat[:5] = 1e-40  # subnormal in float32
    before = [p.data.copy() for p in trainer.opt.params]
    line = adam_subnormals(trainer.opt)
    assert "5 of 109386 first-moment values subnormal" in line and "flushing pass" in line
    for p, b in zip(trainer.opt.params, before):  # the timed steps were undone
        np.testing.assert_array_equal(p.data, b)
