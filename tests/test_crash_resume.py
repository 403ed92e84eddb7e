"""Crash safety end to end: SIGKILL a training run, resume it from its checkpoint, and end with
exactly the weights of a run that was never interrupted."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_np import CheckpointError, nn

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
EPOCHS = 40


def demo(checkpoint, out):
    return [sys.executable, str(DEMO), "--epochs", str(EPOCHS), "--seed", "3",
            "--checkpoint", str(checkpoint), "--out", str(out)]


def saved_epoch(path) -> int:
    try:
        return int(nn.load(path)["epoch"])
    except (FileNotFoundError, CheckpointError):
        return 0


def run(command, env) -> subprocess.CompletedProcess:
    """Run the demo; if it fails, the failure shows its exit status and the end of its stderr."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit status {done.returncode}:\n{done.stderr[-4000:]}"
    return done


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    straight = tmp_path / "straight.npz"
    run(demo(straight, tmp_path / "a"), env)

    crashed = tmp_path / "crashed.npz"
    stderr = tmp_path / "killed.stderr"
    with open(stderr, "w") as err:
        proc = subprocess.Popen(demo(crashed, tmp_path / "b"), env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 120
    while saved_epoch(crashed) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # while training the next epoch (or writing its checkpoint)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the run ended (exit status {proc.returncode}) before it could be killed:\n"
        + stderr.read_text()[-4000:])
    killed_at = saved_epoch(crashed)
    assert 3 <= killed_at < EPOCHS

    resumed = run(demo(crashed, tmp_path / "b"), env)
    assert f"resumed from {crashed} after epoch {killed_at}" in resumed.stdout

    a, b = nn.load(straight), nn.load(crashed)
    assert int(b["epoch"]) == EPOCHS
    for key in a["model"]:
        np.testing.assert_array_equal(a["model"][key], b["model"][key], err_msg=key)
    for key in a["history"]:
        np.testing.assert_array_equal(a["history"][key], b["history"][key], err_msg=key)
