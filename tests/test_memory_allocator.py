"""retain_freed_memory(): glibc stops handing freed temporaries back to the kernel once asked.

The switch changes the whole process's allocator, so it is only ever called in child processes
here, never in the test runner. No timing is checked (machines are noisy): page faults are.
"""

import json
import os
import subprocess
import sys

import pytest

import tinygrad_np as tg
from tinygrad_np import memory

# Each iteration allocates four 2 MB arrays, writes them (np.ones touches every page) and frees
# them. By default glibc's dynamic thresholds settle near 2 MB (mmap) and 4 MB (trim), so the
# 8 MB freed at the top of the heap is trimmed and faulted in again: about 2048 faults per
# iteration. Importing tinygrad_np alone must not change that.
CHILD = """
import json, resource, sys
import numpy as np
import tinygrad_np
took_effect = tinygrad_np.retain_freed_memory() if sys.argv[1] == "retain" else None

def step():
    arrays = [np.ones(2**19, np.float32) for _ in range(4)]
    del arrays

for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
print(json.dumps({"took_effect": took_effect, "faults_per_iteration": faults}))
"""


def run_child(mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_retaining_freed_memory_stops_the_page_faults_of_reallocating_temporaries():
    retained = run_child("retain")
    if not retained["took_effect"]:
        pytest.skip("retain_freed_memory() returned False: not Linux with glibc, whose mallopt "
                    "it needs")
    default = run_child("default")
    assert default["faults_per_iteration"] > 500, default  # the churn the switch is for
    assert retained["faults_per_iteration"] < 20, retained


@pytest.mark.parametrize("bad", [0, -5, 2048, 1.5, "64", None, True])
def test_bad_max_mb_says_what_to_pass(bad):
    with pytest.raises(ValueError) as info:
        tg.retain_freed_memory(bad)
    message = str(info.value)
    for words in ("retain_freed_memory", "max_mb", "positive int", repr(bad), "max_mb=32"):
        assert words in message


def test_outside_linux_it_reports_false_instead_of_raising(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory.retain_freed_memory() is False


def test_without_glibc_it_reports_false_instead_of_raising(monkeypatch):
    def musl_confstr(name):
        raise ValueError("unrecognized configuration name")

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "confstr", musl_confstr, raising=False)
    assert memory.retain_freed_memory() is False
