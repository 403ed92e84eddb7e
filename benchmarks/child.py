"""The child side of `make bench`: one process trains one (workload, row) pair and reports.

The parent starts ``python -m benchmarks.run --child SPEC``, SPEC being one JSON object:

- ``task``: "train" (the default) or "micro" (``micro.run_micro``, ``number`` calls per op);
- ``variant``: the row (``rows.Variant.asdict()``); ``workload``: ``Workload`` as a dict;
- ``windows``: timed windows after the warm-up; ``rss_marks``: steps at which to read RSS;
- ``check``: record the first losses and the evaluation loss before and after the warm-up;
- ``pin_cpu``: the CPU to pin this process to before anything imports the framework.

It prints one JSON line: the window times, the peak RSS, the BLAS libraries loaded and their
kernel (threadpoolctl), the thread-related variables it saw, and the check.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .numpy_by_hand import reference_loss
from .rows import VARIANTS, Variant
from .workloads import Unavailable, Workload, batches, start_weights, synthetic_data

# The environment of this kind of machine sets these; they force an older OpenBLAS kernel,
# 1.2-1.5x slower here (PERF.md, December update): the parent unsets them for every child.
UNSET_FOR_CHILDREN = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")
CHECK_LOSSES = 10  # steps whose losses are compared with hand-written NumPy's
EVAL_ROWS = 1024  # the evaluation batch: the first rows of the data set


def make_trainer(variant: Variant | str, wl: Workload, weights):
    """The object whose ``step(X, y)`` trains ``wl`` as ``variant`` does, from ``weights``."""
    if isinstance(variant, str):
        variant = VARIANTS[variant]
    fw, cnn = variant.framework, wl.model == "cnn"
    if fw == "numpy":
        from .numpy_by_hand import HandCNN, HandMLP
        return HandCNN(wl, weights) if cnn else HandMLP(wl, weights)
    if fw == "floor":
        from .numpy_by_hand import CNNMatmulFloor, MatmulFloor
        return CNNMatmulFloor(wl, weights) if cnn else MatmulFloor(wl, weights)
    if fw in ("torch", "torch_compile"):
        from .torch_impl import TorchTrainer
        return TorchTrainer(wl, weights, compile=fw == "torch_compile")
    if fw == "tinygrad_np":
        if variant.retain:  # process-wide, so only ever in a benchmark child
            import tinygrad_np
            if not tinygrad_np.retain_freed_memory():
                raise RuntimeError("retain_freed_memory() cannot take effect here (it needs "
                                   "glibc)")
        if variant.jit:
            from .jit_bench import TinygradJitMLP
            return TinygradJitMLP(wl, weights)
        from .tinygrad_impl import TinygradMLP
        return TinygradMLP(wl, weights, anomaly=variant.anomaly)
    if fw in ("jax", "mygrad", "autograd"):
        from . import peers
        cls = {"jax": peers.JaxMLP, "mygrad": peers.MyGradMLP, "autograd": peers.AutogradMLP}
        return cls[fw](wl, weights)
    raise ValueError(f"unknown framework {fw!r}")


def _flat(weights) -> list[np.ndarray]:
    return [a for layer in weights for a in layer]


def train_steps(framework: Variant | str, wl: Workload, steps: int) -> list[np.ndarray]:
    """The weights after ``steps`` steps of ``wl`` from the shared start (for equality tests)."""
    X, y = synthetic_data(wl.n_samples)
    trainer = make_trainer(framework, wl, start_weights(wl))
    stream = batches(wl, X, y)
    for _ in range(steps):
        trainer.step(*next(stream))
    return [np.array(w) for w in trainer.weights()]


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak_rss() -> None:
    """Forget the peak so far (Linux >= 4.0): the peak should be training's, not data making's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def blas_info() -> list[dict] | str:
    """The BLAS / OpenMP libraries loaded in this process and the kernel each one runs."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return [{"internal_api": p.get("internal_api"), "version": p.get("version"),
             "architecture": p.get("architecture"), "num_threads": p.get("num_threads"),
             "file": os.path.basename(p.get("filepath", ""))} for p in threadpool_info()]


def _framework_version(fw: str) -> str | None:
    module = {"torch_compile": "torch", "numpy": "numpy", "floor": "numpy"}.get(fw, fw)
    dist = {"tinygrad_np": "tinygrad-np"}.get(module, module)
    if module in sys.modules and hasattr(sys.modules[module], "__version__"):
        return str(sys.modules[module].__version__)
    try:
        from importlib.metadata import version
        return version(dist)
    except ImportError:  # PackageNotFoundError is an ImportError
        return None


def run_child(variant: Variant, wl: Workload, windows: int, rss_marks=(), check=False) -> dict:
    """Train ``wl`` as ``variant``: warm up, then time ``windows`` windows of steps.

    Peak RSS is measured from just after the data exist: it includes the data set (the same
    for every framework), the framework's own memory and everything training allocates. With
    ``check``, the first ``CHECK_LOSSES`` warm-up steps record the loss of the weights they
    start from on their batch, and the evaluation batch's loss is taken before and after the
    warm-up; all in float64 by ``reference_loss``, outside any timed window.
    """
    X, y = synthetic_data(wl.n_samples)
    _reset_peak_rss()
    weights = start_weights(wl)
    t_start = time.perf_counter()
    trainer = make_trainer(variant, wl, weights)
    stream = batches(wl, X, y)
    step, done, rss = trainer.step, 0, {}
    sync = getattr(trainer, "sync", lambda: None)  # JAX: wait for the steps dispatched
    marks = sorted(rss_marks)
    check = check and variant.framework != "floor"  # the floor does not train
    losses = []
    X_eval, y_eval = X[:EVAL_ROWS], y[:EVAL_ROWS]
    eval_start = reference_loss(wl, _flat(weights), X_eval, y_eval) if check else None

    def train(k, record=False):
        nonlocal done
        for _ in range(k):
            xb, yb = next(stream)
            if record and done < CHECK_LOSSES:
                losses.append(reference_loss(wl, trainer.weights(), xb, yb))
            step(xb, yb)
            done += 1
            if marks and done == marks[0]:
                rss[done] = _current_rss_mb()
                marks.pop(0)

    train(wl.warmup, record=check)  # the timed windows never record
    sync()
    warmup_s = time.perf_counter() - t_start
    result = {}
    if check:
        result["check"] = {"losses": losses, "eval_start": eval_start, "eval_steps": done,
                           "eval_end": reference_loss(wl, trainer.weights(), X_eval, y_eval)}
    times, cpu = [], []
    for _ in range(windows):
        t0, c0 = time.perf_counter(), time.process_time()
        train(wl.window)
        sync()
        wall = time.perf_counter() - t0
        times.append(wall * wl.unit_steps / wl.window)
        cpu.append((time.process_time() - c0) / wall)
    if marks:
        train(marks[-1] - done)
    result.update({
        "times": times, "cpu_util": cpu, "steps": done, "rss_mb": rss, "warmup_s": warmup_s,
        "peak_rss_mb": _peak_rss_mb(), "data_mb": X.nbytes / 2**20, "blas": blas_info(),
        "version": _framework_version(variant.framework),
        "cpus_allowed": sorted(os.sched_getaffinity(0)),
        "env_seen": {k: os.environ.get(k) for k in UNSET_FOR_CHILDREN + THREAD_VARIABLES}})
    if "torch" in sys.modules:
        result["torch_threads"] = sys.modules["torch"].get_num_threads()
    if variant.framework == "tinygrad_np":
        result["tinygrad_np_file"] = sys.modules["tinygrad_np"].__file__
    return result


def child_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    if spec.get("pin_cpu") is not None:  # before the framework is imported: JAX sizes its
        os.sched_setaffinity(0, {spec["pin_cpu"]})  # thread pools from the CPUs it may use
    if spec.get("task") == "micro":
        from .micro import run_micro
        print(json.dumps(run_micro(spec["number"])))
        return 0
    variant = Variant.from_dict(spec["variant"])
    if variant.source:  # ahead of the working directory and the editable install
        sys.path.insert(0, variant.source)
    wl = Workload(**{k: tuple(v) if isinstance(v, list) else v
                     for k, v in spec["workload"].items()})
    try:
        result = run_child(variant, wl, spec["windows"], spec.get("rss_marks", ()),
                           spec.get("check", False))
    except Unavailable as why:
        result = {"skipped": str(why)}
    if variant.source and "tinygrad_np" in sys.modules:
        imported = os.path.realpath(sys.modules["tinygrad_np"].__file__)
        if not imported.startswith(os.path.realpath(variant.source) + os.sep):
            raise RuntimeError(f"tinygrad_np came from {imported}, not from {variant.source}")
    print(json.dumps(result))
    return 0
