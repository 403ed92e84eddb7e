"""The benchmark code runs on tiny sizes, and its frameworks all compute the same training.

No timing is checked here (machines are noisy); `make bench` measures.
"""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `benchmarks` is a top-level package of the repository

from benchmarks.run import make_trainer, train_steps  # noqa: E402
from benchmarks.workloads import WORKLOADS, batches, initial_weights, synthetic_data  # noqa: E402

FRAMEWORKS = ["tinygrad_np", "tinygrad_np+anomaly",
              pytest.param("torch", marks=pytest.mark.needs_torch)]  # see tests/conftest.py


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


def test_make_bench_smoke_writes_json_and_compares(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks.run", "--smoke", "--frameworks",
           "tinygrad_np,numpy,floor", "--out", str(tmp_path)]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    for row in ("| W1: 784-128-64-10", "| W2: 784-32-10", "| W3: 1000x784-512-10",
                "| matmul |", "detect_anomaly off costs", "RSS"):
        assert row in first.stdout
    (path,) = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    assert set(data["results"]) == {"W1", "W2", "W3"}
    assert data["results"]["W1"]["tinygrad_np"]["median"] > 0
    assert data["machine"]["numpy"] == np.__version__ and "blas" in data["machine"]
    assert data["memory"]["steps"] == [5, 10]
    retain = data["results"]["W3"]["tinygrad_np+retain"]  # glibc only: elsewhere it says why
    assert retain.get("median") or "needs glibc" in retain.get("error", ""), retain
    second = subprocess.run(cmd[:-2] + ["--workloads", "W2", "--no-save", "--out",
                                        str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert second.returncode == 0, second.stderr
    assert "Against the previous run" in second.stdout and "- W2 numpy:" in second.stdout


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
