"""The rows of the benchmark table: which trainer runs, in which environment, and when.

A ``Variant`` is one row: a framework's trainer (``framework``), possibly changed by an
environment (``env``), by a call made in the child before training (``retain``,
``anomaly``), or by another checkout of tinygrad_np (``source``: `make bench BASELINE=REV`).
Parent and child exchange it as JSON (``asdict`` / ``from_dict``), inside one child spec.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# glibc keeps freed blocks up to these sizes for reuse instead of returning them to the kernel
MALLOC_TUNED = (("MALLOC_MMAP_THRESHOLD_", "268435456"), ("MALLOC_TRIM_THRESHOLD_", "1073741824"))


@dataclass(frozen=True)
class Variant:
    name: str  # the row's key in the results JSON, e.g. "tinygrad_np+retain"
    framework: str  # whose trainer: floor, numpy, tinygrad_np, jax, torch, torch_compile, ...
    label: str  # what the printed table calls it; "{version}": the version the child saw
    needs: str | None = None  # a module that must import for the row to run
    needs_program: str | None = None  # a program that must be on PATH (torch.compile: g++)
    install: str | None = None  # how to get it, printed when it is missing
    env: tuple[tuple[str, str], ...] = ()  # set for the child process
    retain: bool = False  # call tinygrad_np.retain_freed_memory() in the child first
    anomaly: bool = False  # every step inside tinygrad_np.detect_anomaly()
    jit: bool = False  # the step under tinygrad_np.jit (recorded once, then replayed)
    source: str | None = None  # import tinygrad_np from this checkout, not the installed one
    workloads: tuple[str, ...] | None = None  # the only workloads it runs on (None: all)
    base: str | None = None  # the row it is a variant of (the variants table compares them)

    def runs_on(self, workload: str) -> bool:
        return self.workloads is None or workload in self.workloads

    def asdict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Variant:
        d = dict(d)
        d["env"] = tuple(tuple(kv) for kv in d["env"])
        if d["workloads"] is not None:
            d["workloads"] = tuple(d["workloads"])
        return cls(**d)


TORCH_INSTALL = ".venv/bin/pip install torch==2.13.0 (the CPU wheel, not plain `pip install torch`)"
MAIN_ROWS = (
    Variant("floor", "floor", "matmuls alone (floor)"),
    Variant("numpy", "numpy", "NumPy by hand"),
    Variant("tinygrad_np", "tinygrad_np", "tinygrad_np"),
    Variant("tinygrad_np+jit", "tinygrad_np", "tinygrad_np, tinygrad_np.jit step", jit=True),
    Variant("jax", "jax", "JAX {version}, jitted step", needs="jax",
            install=".venv/bin/pip install jax jaxlib"),
    Variant("torch", "torch", "PyTorch {version} eager", needs="torch", install=TORCH_INSTALL),
    Variant("torch_compile", "torch_compile", "torch.compile (PyTorch {version})", needs="torch",
            install=TORCH_INSTALL + "; inductor compiles with g++: apt-get install g++",
            needs_program="g++"),
    Variant("mygrad", "mygrad", "MyGrad {version}", needs="mygrad",
            install=".venv/bin/pip install mygrad"),
    Variant("autograd", "autograd", "HIPS autograd {version}", needs="autograd",
            install=".venv/bin/pip install autograd"),
)
# Extra rows: what detect_anomaly costs when on (W2), and how much of W3 is glibc handing its
# 2 MB temporaries back to the kernel and faulting them in again (PERF.md: allocator churn),
# tuned from outside (MALLOC_* environment) or by the user's opt-in call (+retain, which the
# other frameworks have no equivalent of: it is compared with their default rows).
EXTRA_ROWS = (
    Variant("tinygrad_np+anomaly", "tinygrad_np", "tinygrad_np, detect_anomaly on",
            anomaly=True, workloads=("W2",), base="tinygrad_np"),
    Variant("tinygrad_np+malloc", "tinygrad_np", "tinygrad_np, MALLOC_* tuned", env=MALLOC_TUNED,
            workloads=("W3",), base="tinygrad_np"),
    Variant("numpy+malloc", "numpy", "NumPy by hand, MALLOC_* tuned", env=MALLOC_TUNED,
            workloads=("W3",), base="numpy"),
    Variant("torch+malloc", "torch", "PyTorch, MALLOC_* tuned", needs="torch",
            install=TORCH_INSTALL, env=MALLOC_TUNED, workloads=("W3",), base="torch"),
    Variant("tinygrad_np+retain", "tinygrad_np", "tinygrad_np, retain_freed_memory()",
            retain=True, workloads=("W3",), base="tinygrad_np"),
)
VARIANTS = {v.name: v for v in MAIN_ROWS + EXTRA_ROWS}


def baseline_row(rev: str, source: str) -> Variant:
    """The row of another revision of tinygrad_np, checked out at ``source``."""
    return Variant(f"tinygrad_np@{rev}", "tinygrad_np", f"tinygrad_np at {rev}", source=source)
