"""`make bench`: time W1-W4 for every framework installed, one process per run; print the table.

Each (workload, row) run happens in a fresh child process (``benchmarks.child``), so no
framework inherits another's heap, threads or caches, and each reports its own peak RSS and
the BLAS kernel it ran. Rounds alternate the rows (rotating their order) so slow drifts of the
machine hit all of them alike; before each round a load gate waits for the machine to be
quiet, and a run during which other processes took CPU is run again. Ratios are taken within
each round, then their median is reported. benchmarks/README.md explains the method.

Every child runs with one BLAS/OpenMP/PyTorch thread unless ``--threads`` says otherwise (JAX
ignores such settings: its child is pinned to one CPU instead), and without the
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` this machine's environment sets.

Results go to benchmarks/results/bench-<UTC time>.json with the machine's description; the
newest earlier file there is compared against. Exits non-zero only when the benchmark cannot
run (a tinygrad_np or NumPy child fails); peers that are not installed are skipped, saying how
to install them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .child import UNSET_FOR_CHILDREN, child_main, make_trainer, train_steps  # noqa: F401
from .report import report
from .rows import EXTRA_ROWS, MAIN_ROWS, Variant, baseline_row
from .workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
FRAMEWORKS = tuple(v.name for v in MAIN_ROWS)
# JAX's own thread settings, for the record; they do not hold it to one core (the pinning does)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
REQUIRED = ("tinygrad_np", "numpy")  # a failure of these makes the run fail


# --- the machine ------------------------------------------------------------------------------


def _cpu_ticks() -> dict[str, tuple[int, int]]:
    """Per CPU line of /proc/stat ("cpu" is the total): (busy, all) in clock ticks."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            name, *vals = line.split()
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, vals[:8])
            busy = user + nice + system + irq + softirq
            out[name] = (busy, busy + idle + iowait + steal)
    return out


def idlest_cpu(sample_s: float = 0.3) -> int:
    """The CPU that other processes used least over ``sample_s`` seconds."""
    a = _cpu_ticks()
    time.sleep(sample_s)
    b = _cpu_ticks()
    allowed = os.sched_getaffinity(0)
    usage = {int(k[3:]): (b[k][0] - a[k][0]) / max(b[k][1] - a[k][1], 1)
             for k in b if k != "cpu" and int(k[3:]) in allowed}
    return min(usage, key=lambda cpu: (usage[cpu], cpu))


def others_cpus(sample_s: float) -> float:
    """How many CPUs other processes kept busy over the next ``sample_s`` seconds (this
    process sleeps meanwhile)."""
    busy0, t0 = _cpu_ticks()["cpu"][0], time.time()
    time.sleep(sample_s)
    return (_cpu_ticks()["cpu"][0] - busy0) / os.sysconf("SC_CLK_TCK") / (time.time() - t0)


class LoadGate:
    """Waits for a quiet machine: while other processes keep more than ``max_others`` CPUs
    busy (measured over 5 s; the load average would count this run's own last child for a
    minute), sleep up to ``max_wait`` s per call and ``budget`` s over the whole run, so that
    a machine busy for hours delays the run by ``budget`` at most. The report then says how
    many rounds and children ran on a busy machine."""

    SAMPLE_S = 5.0

    def __init__(self, max_others: float, max_wait: float, budget: float):
        self.max_others, self.max_wait, self.left = max_others, max_wait, budget
        self.waited = 0.0  # over the whole run, reruns' waits included

    def wait(self) -> dict:
        """Wait (within the limits) for a quiet machine; what it found. Once the budget is
        spent it still measures, so the record says whether the machine was busy."""
        if self.max_others == float("inf"):  # --quick / --smoke: no gate
            return {"load": round(os.getloadavg()[0], 2), "others_cpus": None, "waited_s": 0,
                    "quiet": None}
        waited, limit = 0.0, min(self.max_wait, self.left)
        busy = others_cpus(self.SAMPLE_S)
        if busy > self.max_others and limit > 0:
            print(f"  other processes use {busy:.2f} CPUs: waiting (at most {limit:.0f} s)",
                  flush=True)
        while busy > self.max_others and waited < limit:
            time.sleep(10)
            busy = others_cpus(self.SAMPLE_S)
            waited += 10 + self.SAMPLE_S
        self.left -= waited
        self.waited += waited
        return {"load": round(os.getloadavg()[0], 2), "others_cpus": round(busy, 2),
                "waited_s": waited, "quiet": busy <= self.max_others}


def machine_info() -> dict:
    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "env": {k: v for k, v in sorted(os.environ.items())
                    if k.startswith(("MALLOC_", "OMP_", "OPENBLAS_", "MKL_", "XLA_"))}}
    import numpy as np  # the parent's NumPy: the children's is the same installation
    info["numpy"] = np.__version__
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f
                               if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT)
    info["git_commit"] = commit.stdout.strip() or None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=ROOT)
    info["git_dirty"] = bool(dirty.stdout.strip())
    return info


def importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"],
                          capture_output=True).returncode == 0


# --- running the children ---------------------------------------------------------------------


def child_env(variant: Variant, threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in UNSET_FOR_CHILDREN}
    env.update(dict(variant.env))
    if threads:  # BLAS (OpenBLAS, MKL) and PyTorch's intra-op pool all read these
        env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                              "MKL_NUM_THREADS")})
        if variant.framework == "jax" and threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + XLA_ONE_THREAD).strip()
    return env


def spawn(spec: dict, variant: Variant | None, threads: int) -> tuple[dict | str, dict]:
    """Run one child; (its JSON result or the error text, what the machine did meanwhile)."""
    variant = variant or Variant("micro", "micro", "micro")
    if variant.framework == "jax" and threads == 1:
        spec = {**spec, "pin_cpu": idlest_cpu()}
    job = {"load_before": round(os.getloadavg()[0], 2), "pinned_cpu": spec.get("pin_cpu")}
    ticks0, kids0, t0 = _cpu_ticks()["cpu"][0], _rusage_s(resource.RUSAGE_CHILDREN), time.time()
    self0 = _rusage_s(resource.RUSAGE_SELF)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--child", json.dumps(spec)],
                          capture_output=True, text=True, env=child_env(variant, threads),
                          cwd=ROOT)
    wall = time.time() - t0
    busy = (_cpu_ticks()["cpu"][0] - ticks0) / os.sysconf("SC_CLK_TCK")
    mine = (_rusage_s(resource.RUSAGE_CHILDREN) - kids0) + (_rusage_s(resource.RUSAGE_SELF)
                                                           - self0)
    job.update(wall_s=round(wall, 2), others_cpus=round(max(busy - mine, 0.0) / wall, 3))
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        return lines[-1], job
    return json.loads(proc.stdout.strip().splitlines()[-1]), job


def _rusage_s(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


class BaselineCheckout:
    """``git worktree add`` of another revision in a temporary directory, removed afterwards."""

    def __init__(self, rev: str):
        short = subprocess.run(["git", "rev-parse", "--short", f"{rev}^{{commit}}"],
                               capture_output=True, text=True, cwd=ROOT)
        if short.returncode != 0:
            raise SystemExit(f"--baseline {rev}: not a revision of this repository "
                             f"({short.stderr.strip()})")
        self.rev = short.stdout.strip()
        self.path = Path(tempfile.mkdtemp(prefix=f"tinygrad_np-{self.rev}-")) / "checkout"

    def __enter__(self) -> BaselineCheckout:
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(self.path),
                        self.rev], check=True, cwd=ROOT)
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(self.path)], cwd=ROOT)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT)
        self.path.parent.rmdir()


def _smoke(wl):
    return dataclasses.replace(wl, n_samples=min(wl.n_samples, 256), warmup=6, window=4,
                               unit_steps=4)


def select_rows(opts, baseline: Variant | None) -> tuple[list[Variant], dict]:
    """The rows to run, and for each one left out, why (with how to install it)."""
    rows, skipped = [], {}
    chosen = set(opts.frameworks)
    unknown = chosen - set(FRAMEWORKS)
    if unknown:
        raise SystemExit(f"--frameworks: unknown {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(FRAMEWORKS)}")
    available = {}
    for v in MAIN_ROWS + EXTRA_ROWS:
        if v.name in chosen or (v.base in chosen and opts.extras):
            if v.needs and v.needs not in available:
                available[v.needs] = importable(v.needs)
            if v.needs and not available[v.needs]:
                if not v.base:
                    skipped[v.name] = f"`import {v.needs}` fails; install with: {v.install}"
                continue
            if v.needs_program and not shutil.which(v.needs_program):
                skipped[v.name] = f"no `{v.needs_program}` on PATH; install with: {v.install}"
                continue
            rows.append(v)
    if baseline:
        rows.append(baseline)
    return rows, skipped


def _entry(results, wl_name, v: Variant) -> dict:
    return results[wl_name].setdefault(v.name, {
        "label": v.label, "framework": v.framework, "times": [], "round_medians": [],
        "cpu_util": [], "peak_rss_mb": [], "jobs": [], "checks": []})


def run_all(opts) -> dict:
    machine = machine_info()
    load_at_start = os.getloadavg()
    workloads = [WORKLOADS[name] for name in opts.workloads]
    if opts.smoke:
        workloads = [_smoke(wl) for wl in workloads]
    checkout = BaselineCheckout(opts.baseline) if opts.baseline else None
    with checkout or contextlib.nullcontext():
        baseline = baseline_row(checkout.rev, str(checkout.path)) if checkout else None
        rows, skipped = select_rows(opts, baseline)
        results = {wl.name: {} for wl in workloads}
        gates, gate = [], LoadGate(opts.max_others, opts.max_load_wait, opts.max_total_wait)
        for wl in workloads:
            fws = [v for v in rows if v.runs_on(wl.name)]
            for r in range(opts.rounds):
                gates.append({"workload": wl.name, "round": r + 1, **gate.wait()})
                for v in fws[r % len(fws):] + fws[:r % len(fws)]:
                    _run_one(opts, gate, results, wl, v, r)
            for entry in results[wl.name].values():
                entry["median"] = statistics.median(entry["times"]) if entry["times"] else None
                entry["peak_rss_mb_max"] = max(entry["peak_rss_mb"], default=None)
        memory = _memory_run(opts, workloads, rows)
        micro = None
        if any(v.name == "tinygrad_np" for v in rows):
            print("  micro-benchmark ...", flush=True)
            micro, _ = spawn({"task": "micro", "number": 50 if opts.smoke else 2000}, None,
                             opts.threads)
    machine["load_average"] = [round(x, 2) for x in load_at_start + os.getloadavg()]
    machine["threads_requested"] = opts.threads
    return {"time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
            "machine": machine, "skipped": skipped,
            "unset_for_children": {k: os.environ.get(k) for k in UNSET_FOR_CHILDREN},
            "blas_kernels": _kernels(results),
            "baseline": {"rev": checkout.rev, "row": baseline.name} if checkout else None,
            "config": {wl.name: dataclasses.asdict(wl) for wl in workloads},
            "rounds": opts.rounds, "windows_per_round": opts.windows,
            "load_gate": {"max_wait_s": opts.max_load_wait, "budget_s": opts.max_total_wait,
                          "max_others_cpus": opts.max_others, "waited_total_s": gate.waited,
                          "rounds": gates},
            "results": results, "memory": memory, "micro": micro}


def _run_one(opts, gate: LoadGate, results, wl, v: Variant, r: int) -> None:
    entry = _entry(results, wl.name, v)
    if "skipped" in entry:
        return
    print(f"  {wl.name} round {r + 1}/{opts.rounds}: {v.name} ...", end="", flush=True)
    spec = {"variant": v.asdict(), "workload": dataclasses.asdict(wl), "windows": opts.windows,
            "check": True}
    res, job = spawn(spec, v, opts.threads)
    if not isinstance(res, str) and "skipped" not in res and job["others_cpus"] > opts.max_others:
        print(f" other processes took {job['others_cpus']:.2f} CPUs", end="", flush=True)
        if gate.wait()["quiet"]:  # again on a quiet machine, else keep it, flagged
            print(": again ...", end="", flush=True)
            res, job2 = spawn(spec, v, opts.threads)
            job = {**job2, "redone_after": job}
        if job["others_cpus"] > opts.max_others:
            job["busy"] = True
            print(" (kept, busy)", end="", flush=True)
    job["round"] = r + 1
    entry["jobs"].append(job)
    if isinstance(res, str):
        print(f" FAILED: {res}")
        entry["error"] = res
        return
    if "skipped" in res:
        print(f" skipped: {res['skipped']}")
        entry["skipped"] = res["skipped"]
        return
    print(" " + ", ".join(f"{t:.3g}" for t in res["times"]) + f" {wl.unit}")
    entry["times"] += res["times"]
    entry["round_medians"].append([r + 1, statistics.median(res["times"])])
    entry["cpu_util"] += res["cpu_util"]
    entry["peak_rss_mb"].append(res["peak_rss_mb"])
    if "check" in res:
        entry["checks"].append(res["check"])
    for key in ("blas", "version", "env_seen", "cpus_allowed", "torch_threads",
                "tinygrad_np_file", "warmup_s"):
        if key in res:
            entry[key] = res[key]


def _memory_run(opts, workloads, rows) -> dict | None:
    """tinygrad_np's RSS at two step counts of W1: does training leak?"""
    names = [wl.name for wl in workloads]
    if "W1" not in names or not any(v.name == "tinygrad_np" for v in rows):
        return None
    wl = workloads[names.index("W1")]
    marks = (5, 10) if opts.smoke else (1000, opts.rss_steps)
    print(f"  memory: tinygrad_np W1 for {marks[1]} steps ...", flush=True)
    v = next(v for v in rows if v.name == "tinygrad_np")
    res, _ = spawn({"variant": v.asdict(), "workload": dataclasses.asdict(wl), "windows": 0,
                    "rss_marks": list(marks)}, v, opts.threads)
    if isinstance(res, str):
        return {"error": res}
    a, b = (res["rss_mb"][str(m)] for m in marks)
    return {"steps": list(marks), "rss_mb": [a, b], "growth": b / a - 1}


def _kernels(results) -> list[dict]:
    """Every BLAS library the children loaded, once, with the rows that loaded it."""
    seen = {}
    for by_row in results.values():
        for name, entry in by_row.items():
            if not isinstance(entry.get("blas"), list):
                continue
            for lib in entry["blas"]:
                key = (lib["internal_api"], lib["version"], lib["architecture"], lib["file"])
                seen.setdefault(key, set()).add(name)
    return [{"internal_api": k[0], "version": k[1], "architecture": k[2], "file": k[3],
             "rows": sorted(v)} for k, v in seen.items()]


def _previous(out_dir: Path) -> dict | None:
    files = sorted(out_dir.glob("bench-*.json"))
    return json.loads(files[-1].read_text()) if files else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="one round of one window each (development; W1 still warms up 1,000 "
                        "steps so the subnormal slowdown shows)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks the code")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                   help=f"rows to run, of {', '.join(FRAMEWORKS)} (those not installed are "
                        "skipped)")
    p.add_argument("--no-extras", dest="extras", action="store_false",
                   help="leave out the variant rows (+anomaly, +malloc, +retain)")
    p.add_argument("--baseline", metavar="REV",
                   help="also run tinygrad_np at git revision REV (a temporary worktree), as "
                        "the row tinygrad_np@REV, alternating with the others")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--windows", type=int, default=3, help="timed windows per child process")
    p.add_argument("--rss-steps", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP/PyTorch threads in every child; 0: each library's default")
    p.add_argument("--max-others", type=float, default=0.3,
                   help="the load gate: before each round, wait while other processes keep "
                        "more CPUs than this busy; run a child again (once, if the machine is "
                        "then quiet) when they used more while it ran")
    p.add_argument("--max-load-wait", type=float, default=300,
                   help="seconds to wait at most per round (then go on, and say so)")
    p.add_argument("--max-total-wait", type=float, default=1800,
                   help="seconds to wait at most over the whole run")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    p.add_argument("--no-save", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.child:
        return child_main(opts.child)
    opts.workloads = opts.workloads.split(",")
    opts.frameworks = opts.frameworks.split(",")
    if opts.quick or opts.smoke:  # development runs: load recorded, not waited for
        opts.rounds, opts.windows, opts.rss_steps = 1, 1, 3000
        opts.max_load_wait, opts.max_total_wait, opts.max_others = 0, 0, float("inf")
    print(f"benchmarks: {', '.join(opts.workloads)} x {', '.join(opts.frameworks)}"
          + (f" + tinygrad_np@{opts.baseline}" if opts.baseline else "")
          + f", {opts.rounds} rounds of {opts.windows} windows", flush=True)
    data = run_all(opts)
    failed = [f"{name}/{fw}: {e['error']}" for name, by_fw in data["results"].items()
              for fw, e in by_fw.items() if "error" in e and fw in REQUIRED]
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


if __name__ == "__main__":
    sys.exit(main())
