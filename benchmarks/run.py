"""`make bench`: time W1, W2, W3 for each framework, one process per run, and print the table.

Each (workload, framework) run happens in a fresh child process (`--child`), so no framework
inherits another's heap, threads or caches, and each reports its own peak RSS. Rounds alternate
the frameworks (rotating their order) so slow drifts of the machine hit all of them alike.
Reported numbers are medians over every timed window of every round.

Every child runs with one BLAS/OpenMP/PyTorch thread unless ``--threads`` says otherwise: on
this 2-core machine the batch-32 and batch-128 GEMMs are faster on one thread (PERF.md), and a
multi-threaded BLAS that shares its cores with any other process slows down 45 to 80 times
(measured here on W2), which would make the table measure the neighbours.

Results go to benchmarks/results/bench-<UTC time>.json with the machine's description; the
newest earlier file there is compared against. Exits non-zero only when the benchmark cannot
run (a tinygrad_np or NumPy child fails); PyTorch is skipped when it is not importable.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .workloads import WORKLOADS, batches, initial_weights, synthetic_data

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FRAMEWORKS = ("tinygrad_np", "numpy", "torch", "floor")
LABELS = {"tinygrad_np": "tinygrad_np", "numpy": "NumPy by hand", "torch": "PyTorch CPU eager",
          "floor": "matmuls alone (floor)", "tinygrad_np+anomaly": "tinygrad_np, detect_anomaly on",
          "tinygrad_np+malloc": "tinygrad_np, MALLOC_* tuned", "numpy+malloc":
          "NumPy by hand, MALLOC_* tuned", "torch+malloc": "PyTorch, MALLOC_* tuned",
          "tinygrad_np+retain": "tinygrad_np, retain_freed_memory()"}
# Extra rows: what detect_anomaly costs when on (W2), and how much of W3 is glibc handing its
# 2 MB temporaries back to the kernel and faulting them in again (PERF.md: allocator churn),
# tuned from outside (MALLOC_* environment) or by the user's opt-in call (+retain).
EXTRA_ROWS = {"W2": ["tinygrad_np+anomaly"],
              "W3": ["tinygrad_np+malloc", "numpy+malloc", "torch+malloc", "tinygrad_np+retain"]}
# Variants made by a tinygrad_np call: the other frameworks have no such row, so the variant is
# compared with them as they run by default.
IN_PROCESS_VARIANTS = ("retain",)
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": "268435456", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
# target ratios (tinygrad_np / other), from the benchmarks issue
TARGETS = {"W1": {"torch": 0.5, "numpy": 0.5}, "W2": {"torch": 0.7, "numpy": 1.1},
           "W3": {"torch": 1.1, "numpy": 1.1}}
RSS_TARGET = 1.3
RSS_GROWTH_TARGET = 0.05


# --- child side -------------------------------------------------------------------------------


def make_trainer(framework: str, wl, weights):
    framework = framework.removesuffix("+malloc")  # the same code, another environment
    if framework == "numpy":
        from .numpy_by_hand import HandMLP
        return HandMLP(wl, weights)
    if framework == "floor":
        from .numpy_by_hand import MatmulFloor
        return MatmulFloor(wl, weights)
    if framework == "torch":
        from .torch_impl import TorchMLP
        return TorchMLP(wl, weights)
    if framework == "tinygrad_np+retain":  # process-wide, so only ever in a benchmark child
        import tinygrad_np
        if not tinygrad_np.retain_freed_memory():
            raise RuntimeError("retain_freed_memory() cannot take effect here (it needs glibc)")
    if framework in ("tinygrad_np", "tinygrad_np+anomaly", "tinygrad_np+retain"):
        from .tinygrad_impl import TinygradMLP
        return TinygradMLP(wl, weights, anomaly=framework.endswith("anomaly"))
    raise ValueError(f"unknown framework {framework!r}; known: {', '.join(LABELS)}")


def train_steps(framework: str, wl, steps: int) -> list[np.ndarray]:
    """The weights after ``steps`` steps of ``wl`` from the shared start (for equality tests)."""
    X, y = synthetic_data(wl.n_samples)
    trainer = make_trainer(framework, wl, initial_weights(wl.sizes))
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


def run_child(framework: str, wl, windows: int, rss_marks=()) -> dict:
    """Train ``wl`` with ``framework``: warm up, then time ``windows`` windows of steps.

    Peak RSS is measured from just after the data exist: it includes the data set (the same
    for every framework), the framework's own memory and everything training allocates.
    """
    X, y = synthetic_data(wl.n_samples)
    _reset_peak_rss()
    trainer = make_trainer(framework, wl, initial_weights(wl.sizes))
    stream = batches(wl, X, y)
    step, done, rss = trainer.step, 0, {}
    marks = sorted(rss_marks)

    def train(k):
        nonlocal done
        for _ in range(k):
            xb, yb = next(stream)
            step(xb, yb)
            done += 1
            if marks and done == marks[0]:
                rss[done] = _current_rss_mb()
                marks.pop(0)

    train(wl.warmup)
    times = []
    for _ in range(windows):
        t0 = time.perf_counter()
        train(wl.window)
        times.append((time.perf_counter() - t0) * wl.unit_steps / wl.window)
    if marks:
        train(marks[-1] - done)
    return {"times": times, "steps": done, "rss_mb": rss, "threads": _threads(framework),
            "peak_rss_mb": _peak_rss_mb(), "data_mb": X.nbytes / 2**20}


def _threads(framework: str) -> int | None:
    if framework == "torch":
        import torch
        return torch.get_num_threads()
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return max((p["num_threads"] for p in threadpool_info()), default=None)


# --- parent side ------------------------------------------------------------------------------


def _spawn(args: list[str], threads: int | None = None) -> dict | str:
    """Run one child; its JSON result, or the error text if it failed."""
    env = dict(os.environ)
    if args[0].endswith("+malloc"):
        env.update(MALLOC_TUNED)
    if threads:  # BLAS (OpenBLAS, MKL) and PyTorch's intra-op pool all read these
        env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                              "MKL_NUM_THREADS")})
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--child", *args],
                          capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def torch_available() -> bool:
    proc = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    return proc.returncode == 0


def machine_info() -> dict:
    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform(),
            "env": {k: v for k, v in sorted(os.environ.items())
                    if k.startswith(("MALLOC_", "OMP_", "OPENBLAS_", "MKL_"))}}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f
                               if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                                  "architecture", "threading_layer")}
                        for p in threadpool_info()]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    try:
        from importlib.metadata import version
        info["torch"] = version("torch")
    except ImportError:  # PackageNotFoundError is an ImportError
        info["torch"] = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parent.parent)
    info["git_commit"] = commit.stdout.strip() or None
    return info


def _median(xs):
    return statistics.median(xs) if xs else None


def _fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}g}" if x < 100 else f"{x:.0f}"


def run_all(opts) -> dict:
    load_at_start = os.getloadavg()[0]
    if load_at_start > 0.5:
        print(f"  warning: load average {load_at_start:.1f} before starting: other processes "
              "share the CPU, and multi-threaded BLAS suffers most from that", flush=True)
    workloads = [WORKLOADS[name] for name in opts.workloads]
    if opts.smoke:
        workloads = [dataclasses.replace(wl, n_samples=min(wl.n_samples, 256), warmup=3,
                                         window=4, unit_steps=4) for wl in workloads]
    frameworks = [f for f in FRAMEWORKS if f in opts.frameworks]
    skipped = {}
    if "torch" in frameworks and not torch_available():
        frameworks.remove("torch")
        skipped["torch"] = "torch is not importable in this environment"
    results = {wl.name: {} for wl in workloads}
    for wl in workloads:
        fws = frameworks + [f for f in EXTRA_ROWS.get(wl.name, [])
                            if f.split("+")[0] in frameworks]
        for r in range(opts.rounds):
            for fw in fws[r % len(fws):] + fws[:r % len(fws)]:
                print(f"  {wl.name} round {r + 1}/{opts.rounds}: {fw} ...", end="", flush=True)
                res = _spawn([fw, wl.name, str(opts.windows), json.dumps(
                    dataclasses.asdict(wl))], opts.threads)
                if isinstance(res, str):
                    print(f" FAILED: {res}")
                    results[wl.name].setdefault(fw, {"times": [], "peak_rss_mb": []})
                    results[wl.name][fw]["error"] = res
                    continue
                print(" " + ", ".join(f"{t:.3g}" for t in res["times"]) + f" {wl.unit}")
                entry = results[wl.name].setdefault(fw, {"times": [], "peak_rss_mb": []})
                entry["times"] += res["times"]
                entry["peak_rss_mb"].append(res["peak_rss_mb"])
                entry["threads"] = res["threads"]
        for entry in results[wl.name].values():
            entry["median"] = _median(entry["times"])
            entry["peak_rss_mb_max"] = max(entry["peak_rss_mb"], default=None)
    memory = None
    if "tinygrad_np" in frameworks and "W1" in opts.workloads:
        wl = workloads[[w.name for w in workloads].index("W1")]
        marks = (5, 10) if opts.smoke else (1000, opts.rss_steps)
        print(f"  memory: tinygrad_np W1 for {marks[1]} steps ...", flush=True)
        res = _spawn(["tinygrad_np", "W1", "0", json.dumps(dataclasses.asdict(wl)),
                      ",".join(map(str, marks))], opts.threads)
        if isinstance(res, str):
            memory = {"error": res}
        else:
            a, b = (res["rss_mb"][str(m)] for m in marks)
            memory = {"steps": list(marks), "rss_mb": [a, b], "growth": b / a - 1}
    micro = None
    if "tinygrad_np" in frameworks:
        print("  micro-benchmark ...", flush=True)
        micro = _spawn(["micro", "-", "0", "{}", "", str(50 if opts.smoke else 2000)],
                       opts.threads)
    machine = machine_info()
    machine["load_average"] = [load_at_start, os.getloadavg()[0]]
    machine["threads_requested"] = opts.threads
    return {"time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
            "machine": machine, "skipped": skipped,
            "config": {wl.name: dataclasses.asdict(wl) for wl in workloads},
            "rounds": opts.rounds, "windows_per_round": opts.windows,
            "results": results, "memory": memory, "micro": micro}


def report(data: dict, previous: dict | None) -> str:
    """The markdown tables printed at the end (and pasted into the README)."""
    res = data["results"]
    lines = ["| workload | unit | tinygrad_np | NumPy by hand | PyTorch CPU eager | matmuls alone "
             "(floor) | tinygrad_np / PyTorch (target) | tinygrad_np / NumPy (target) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, by_fw in res.items():
        cfg = data["config"][name]
        med = {fw: by_fw.get(fw, {}).get("median") for fw in FRAMEWORKS}
        tg = med["tinygrad_np"]
        ratios = []
        for other in ("torch", "numpy"):
            target = TARGETS[name][other]
            if tg is None or med[other] is None:
                ratios.append(f"- (<= {target})")
            else:
                r = tg / med[other]
                ratios.append(f"{r:.2f} (<= {target}) {'met' if r <= target else 'MISSED'}")
        lines.append(f"| {name}: {cfg['title']} | {cfg['unit']} | "
                     + " | ".join(_fmt(med[fw]) for fw in FRAMEWORKS) + " | "
                     + " | ".join(ratios) + " |")
    lines += ["", "| peak RSS, MB (data included) | tinygrad_np | NumPy by hand | PyTorch | "
              f"tinygrad_np / NumPy (target <= {RSS_TARGET}) |", "|---|---|---|---|---|"]
    for name, by_fw in res.items():
        rss = {fw: by_fw.get(fw, {}).get("peak_rss_mb_max") for fw in FRAMEWORKS}
        ratio = (f"{rss['tinygrad_np'] / rss['numpy']:.2f}"
                 if rss["tinygrad_np"] and rss["numpy"] else "-")
        lines.append(f"| {name} | " + " | ".join(_fmt(rss[fw], 4) for fw in FRAMEWORKS[:3])
                     + f" | {ratio} |")
    mem = data.get("memory")
    if mem and "growth" in mem:
        a, b = mem["rss_mb"]
        ok = "met" if mem["growth"] < RSS_GROWTH_TARGET else "MISSED"
        lines += ["", f"tinygrad_np W1 RSS: {a:.1f} MB at step {mem['steps'][0]}, {b:.1f} MB at "
                  f"step {mem['steps'][1]}: growth {100 * mem['growth']:+.1f}% (target < "
                  f"{100 * RSS_GROWTH_TARGET:.0f}%) {ok}"]
    extra = [(name, fw) for name, fws in EXTRA_ROWS.items() for fw in fws
             if res.get(name, {}).get(fw, {}).get("median")]
    if extra:
        lines += ["", "| variant | workload | median | vs the same without | tinygrad_np / "
                  "PyTorch | tinygrad_np / NumPy |", "|---|---|---|---|---|---|"]
    for name, fw in extra:
        base, variant = fw.split("+")
        med = {f: res[name].get(f, {}).get("median") for f in res[name]}
        row = [f"{med[fw]:.3g}", f"{med[fw] / med[base]:.2f}x" if med.get(base) else "-"]
        for other in ("torch", "numpy"):  # ratios within the variant's own environment
            tg, ref = med.get(f"tinygrad_np+{variant}"), med.get(f"{other}+{variant}")
            if tg and ref and base == "tinygrad_np":
                row.append(f"{tg / ref:.2f}")
            elif variant in IN_PROCESS_VARIANTS and other == "torch" and med.get("torch"):
                row.append(f"{med[fw] / med['torch']:.2f} (vs PyTorch default)")
            else:
                row.append("")
        lines.append(f"| {LABELS[fw]} | {name} | " + " | ".join(row) + " |")
    micro = data.get("micro")
    if isinstance(micro, dict):
        shape = "x".join(map(str, micro["shape"]))
        lines += ["", f"| op, forward + backward, {shape} float32 | tinygrad_np us | bare NumPy "
                  "us | overhead us |", "|---|---|---|---|"]
        for op, m in micro["ops"].items():
            lines.append(f"| {op} | {m['tinygrad_np_us']:.1f} | {m['numpy_us']:.1f} | "
                         f"{m['overhead_us']:.1f} |")
        lines += ["", f"detect_anomaly off costs {micro['anomaly_off_check_ns']:.0f} ns per op "
                  "(one attribute read)."]
    if previous:
        lines += ["", f"Against the previous run ({previous['time_utc'][:19]}, commit "
                  f"{previous['machine'].get('git_commit')}):"]
        for name, by_fw in res.items():
            for fw, entry in by_fw.items():
                old = previous.get("results", {}).get(name, {}).get(fw, {}).get("median")
                if old and entry.get("median"):
                    lines.append(f"- {name} {fw}: {old:.3g} -> {entry['median']:.3g} "
                                 f"({entry['median'] / old:.2f}x)")
    m = data["machine"]
    blas = m["blas"] if isinstance(m["blas"], str) else ", ".join(
        f"{b['internal_api']} {b['version']} ({b['architecture']})"
        for b in m["blas"])
    threads = {fw: e.get("threads") for by_fw in res.values() for fw, e in by_fw.items()}
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy "
              f"{m['numpy']}, BLAS: {blas}, PyTorch {m.get('torch') or '-'}; threads used: "
              + ", ".join(f"{fw} {n}" for fw, n in threads.items() if n)
              + f"; malloc/thread env: {m['env'] or 'default'}; load average "
              f"{m['load_average'][0]:.2f} at start, {m['load_average'][1]:.2f} at the end."]
    for fw, why in data["skipped"].items():
        lines.append(f"Skipped {fw}: {why}.")
    return "\n".join(lines)


def _previous(out_dir: Path) -> dict | None:
    files = sorted(out_dir.glob("bench-*.json"))
    return json.loads(files[-1].read_text()) if files else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="one round of one window each (development; W1 still warms up 1,000 "
                        "steps so the subnormal slowdown shows)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks the code")
    p.add_argument("--workloads", default="W1,W2,W3")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--windows", type=int, default=3, help="timed windows per child process")
    p.add_argument("--rss-steps", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP/PyTorch threads in every child; 0: each library's default")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    p.add_argument("--no-save", action="store_true")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.child:
        return _child_main(opts.child)
    opts.workloads = opts.workloads.split(",")
    opts.frameworks = opts.frameworks.split(",")
    if opts.quick or opts.smoke:
        opts.rounds, opts.windows, opts.rss_steps = 1, 1, 3000
    print(f"benchmarks: {', '.join(opts.workloads)} x {', '.join(opts.frameworks)}, "
          f"{opts.rounds} rounds of {opts.windows} windows", flush=True)
    data = run_all(opts)
    failed = [f"{name}/{fw}: {e['error']}" for name, by_fw in data["results"].items()
              for fw, e in by_fw.items() if "error" in e and fw in ("tinygrad_np", "numpy")]
    previous = _previous(opts.out)
    print()
    print(report(data, previous))
    if not opts.no_save:
        opts.out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        path = opts.out / f"bench-{stamp}.json"
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"\nwritten {path}")
    if failed:
        print("\nthe benchmark could not run:\n" + "\n".join(failed), file=sys.stderr)
        return 1
    return 0


def _child_main(args: list[str]) -> int:
    framework, _, _, config = args[:4]
    if framework == "micro":
        from .micro import run_micro
        result = run_micro(int(args[5]))
    else:
        from .workloads import Workload
        wl = Workload(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in json.loads(config).items()})
        marks = [int(m) for m in args[4].split(",")] if len(args) > 4 and args[4] else []
        result = run_child(framework, wl, int(args[2]), marks)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
