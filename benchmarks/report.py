"""The tables `make bench` prints from its results (``run.run_all``'s dictionary).

Ratios are taken within each round (the rows of a round ran minutes apart, alternating), and
the median over the rounds is printed, with the range when there were several rounds.
"""

from __future__ import annotations

import json
import statistics

from .rows import EXTRA_ROWS

# Issue 16's goals for tinygrad_np, one thread: at most this times the matmul floor, and at
# most 0.95x the faster of JAX and hand-written NumPy.
FLOOR_GOALS = {"W1": 2.0, "W2": 1.35, "W3": 1.1}
BEST_PEER_GOAL = 0.95
BEST_PEER_ROWS = ("jax", "numpy")
RSS_TARGET = 1.3  # tinygrad_np / NumPy peak RSS
RSS_GROWTH_TARGET = 0.05  # W1 RSS from step 1,000 to step 10,000
LOSS_ATOL = 1e-4  # first losses against hand-written NumPy's: float32 rounding, not a new path
LEARN_MARGIN = 0.10  # the evaluation loss after the warm-up at least 10% below the start


def _fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}g}" if x < 100 else f"{x:.0f}"


def _range(values, fmt=_fmt) -> str:
    """The median of ``values``, and their range when there are several."""
    if not values:
        return "-"
    mid = statistics.median(values)
    if len(values) == 1:
        return fmt(mid)
    return f"{fmt(mid)} ({fmt(min(values))}-{fmt(max(values))})"


def _ratio(x) -> str:
    return f"{x:.2f}"


def _per_round(entry) -> dict[int, float]:
    return dict((r, t) for r, t in (entry or {}).get("round_medians", []))


def round_ratios(by_row, num, den) -> list[float]:
    """``num``'s time over ``den``'s, round by round (rows may be names or per-round dicts)."""
    a = num if isinstance(num, dict) else _per_round(by_row.get(num))
    b = den if isinstance(den, dict) else _per_round(by_row.get(den))
    return [a[r] / b[r] for r in sorted(a) if r in b]


def best_of(by_row, names) -> tuple[dict[int, float], list[str]]:
    """Per round, the fastest of the rows ``names`` that ran; and which of them ran."""
    present = [n for n in names if _per_round(by_row.get(n))]
    rounds = {}
    for n in present:
        for r, t in _per_round(by_row[n]).items():
            rounds[r] = min(rounds.get(r, t), t)
    return rounds, present


def check_text(entry, reference) -> str:
    """Does this row train the network hand-written NumPy trains, and does it learn?"""
    checks = entry.get("checks") or []
    if not checks:
        return "-"
    parts = []
    ref = (reference or {}).get("checks") or []
    if entry is reference:
        parts.append("reference")
    elif ref:
        want = ref[0]["losses"]
        diff = max(abs(a - b) for c in checks for a, b in zip(c["losses"], want))
        n = min(len(want), len(checks[0]["losses"]))
        verdict = "agree" if diff <= LOSS_ATOL else "DIFFER"
        parts.append(f"first {n} losses {verdict} (max diff {diff:.1e})")
    c = checks[0]
    learns = c["eval_end"] <= (1 - LEARN_MARGIN) * c["eval_start"]
    parts.append(f"eval loss {c['eval_start']:.3f} -> {c['eval_end']:.3f} at step "
                 f"{c['eval_steps']}" + ("" if learns else " (NOT LEARNING)"))
    return "; ".join(parts)


def _label(entry) -> str:
    label = entry["label"].format(version=entry.get("version") or "?")
    busy = sum(j.get("busy", False) for j in entry.get("jobs", []))
    if busy:
        label += f" *{busy}/{len(entry['jobs'])} busy"
    pinned = {j.get("pinned_cpu") for j in entry.get("jobs", [])} - {None}
    if pinned:
        label += f" (pinned to CPU {', '.join(map(str, sorted(pinned)))})"
    return label


def workload_table(name, cfg, by_row, threads) -> list[str]:
    unit = cfg["unit"]
    lines = [f"### {name}: {cfg['title']} ({unit}, {threads} thread"
             f"{'s' if threads != 1 else ''} per process)", "",
             f"| framework | {unit} | tinygrad_np / this | this / floor | CPU util | peak RSS "
             "MB | same training as NumPy by hand? |", "|---|---|---|---|---|---|---|"]
    ran = {n: e for n, e in by_row.items() if e.get("round_medians")}
    for row, entry in sorted(ran.items(), key=lambda kv: kv[1]["median"]):
        times = [t for _, t in entry["round_medians"]]
        to_tg = round_ratios(by_row, "tinygrad_np", row)
        to_floor = round_ratios(by_row, row, "floor")
        bold = "**" if row == "tinygrad_np" else ""
        lines.append(f"| {bold}{_label(entry)}{bold} | {bold}{_range(times)}{bold} | "
                     f"{_range(to_tg, _ratio)} | {_range(to_floor, _ratio)} | "
                     f"{_fmt(statistics.median(entry['cpu_util']), 2)} | "
                     f"{_fmt(entry['peak_rss_mb_max'], 4)} | "
                     f"{check_text(entry, by_row.get('numpy'))} |")
    for row, entry in by_row.items():
        if row in ran:
            continue
        why = entry.get("skipped") or f"FAILED: {entry.get('error')}"
        label = entry["label"].replace(" {version}", "").replace(" (PyTorch)", "")
        lines.append(f"| {label} | - | | | | | {why} |")
    return lines


def _goal(ratios, goal) -> str:
    if not ratios:
        return "-"
    met = statistics.median(ratios) <= goal
    return f"{_range(ratios, _ratio)} (<= {goal}: goal {'met' if met else 'missed'})"


def goals_table(res) -> list[str]:
    lines = ["### Goals (issue 16): tinygrad_np's time over ...", "",
             "| workload | the matmul floor | NumPy by hand | the best of JAX and NumPy by hand |",
             "|---|---|---|---|"]
    for name in ("W1", "W2", "W3"):
        by_row = res.get(name)
        for ours in ("tinygrad_np", "tinygrad_np+jit"):
            if not by_row or not _per_round(by_row.get(ours)):
                continue
            best, present = best_of(by_row, BEST_PEER_ROWS)
            to_best = round_ratios(by_row, ours, best)
            which = " and ".join(present)
            if "jax" not in present:
                which += "; JAX did not run"
            to_floor = round_ratios(by_row, ours, "floor")
            to_numpy = round_ratios(by_row, ours, "numpy")
            label = name if ours == "tinygrad_np" else f"{name}, jit"
            lines.append(f"| {label} | {_goal(to_floor, FLOOR_GOALS[name])} | "
                         f"{_range(to_numpy, _ratio)} | {_goal(to_best, BEST_PEER_GOAL)} "
                         f"[{which}] |")
    w4 = res.get("W4")
    if w4:
        tg = w4.get("tinygrad_np", {})
        if _per_round(tg):
            to = {other: _range(round_ratios(w4, "tinygrad_np", other), _ratio)
                  for other in ("torch", "numpy", "floor")}
            lines += ["", f"W4 (issue 14's CNN): tinygrad_np / PyTorch eager {to['torch']}, / "
                      f"NumPy by hand {to['numpy']}, / floor {to['floor']}."]
        else:
            lines += ["", f"W4 (issue 14's CNN): tinygrad_np skipped: "
                      f"{tg.get('skipped') or tg.get('error', 'not run')}."]
    return lines


def baseline_lines(data) -> list[str]:
    base = data.get("baseline")
    if not base:
        return []
    lines = [f"### Before / after: tinygrad_np at {data['machine'].get('git_commit')} over "
             f"tinygrad_np at {base['rev']} (same run, alternating)", ""]
    for name, by_row in data["results"].items():
        entry = by_row.get(base["row"], {})
        ratios = round_ratios(by_row, "tinygrad_np", base["row"])
        why = entry.get("skipped") or entry.get("error")
        lines.append(f"- {name}: " + (f"{_range(ratios, _ratio)}x" if ratios else f"- ({why})"))
    return lines


def rss_lines(data) -> list[str]:
    res = data["results"]
    cols = ("tinygrad_np", "numpy", "torch")
    lines = ["| peak RSS, MB (data included) | tinygrad_np | NumPy by hand | PyTorch | "
             f"tinygrad_np / NumPy (target <= {RSS_TARGET}) |", "|---|---|---|---|---|"]
    for name, by_row in res.items():
        rss = {c: by_row.get(c, {}).get("peak_rss_mb_max") for c in cols}
        ratio = (f"{rss['tinygrad_np'] / rss['numpy']:.2f}"
                 if rss["tinygrad_np"] and rss["numpy"] else "-")
        lines.append(f"| {name} | " + " | ".join(_fmt(rss[c], 4) for c in cols) + f" | {ratio} |")
    mem = data.get("memory")
    if mem and "growth" in mem:
        a, b = mem["rss_mb"]
        ok = "met" if mem["growth"] < RSS_GROWTH_TARGET else "MISSED"
        lines += ["", f"tinygrad_np W1 RSS: {a:.1f} MB at step {mem['steps'][0]}, {b:.1f} MB at "
                  f"step {mem['steps'][1]}: growth {100 * mem['growth']:+.1f}% (target < "
                  f"{100 * RSS_GROWTH_TARGET:.0f}%) {ok}"]
    return lines


def variant_lines(res) -> list[str]:
    rows = [(name, v) for v in EXTRA_ROWS for name in res if _per_round(res[name].get(v.name))]
    if not rows:
        return []
    lines = ["| variant | workload | median | vs the same without | tinygrad_np / PyTorch | "
             "tinygrad_np / NumPy |", "|---|---|---|---|---|---|"]
    for name, v in rows:
        by_row = res[name]
        cells = [_fmt(by_row[v.name]["median"]),
                 _range(round_ratios(by_row, v.name, v.base), _ratio)]
        for other in ("torch", "numpy"):
            suffix = v.name.split("+", 1)[1]
            same_env = f"{other}+{suffix}"
            if v.base == "tinygrad_np" and _per_round(by_row.get(same_env)):
                cells.append(_range(round_ratios(by_row, v.name, same_env), _ratio))
            elif v.base == "tinygrad_np" and not v.env and _per_round(by_row.get(other)):
                ratios = round_ratios(by_row, v.name, other)
                cells.append(f"{_range(ratios, _ratio)} (vs its default)")
            else:
                cells.append("")
        lines.append(f"| {v.label} | {name} | " + " | ".join(cells) + " |")
    return lines


def micro_lines(micro) -> list[str]:
    if not isinstance(micro, dict):
        return [] if micro is None else [f"micro-benchmark FAILED: {micro}"]
    shape = "x".join(map(str, micro["shape"]))
    lines = [f"| op, forward + backward, {shape} float32 | tinygrad_np us | bare NumPy us | "
             "overhead us |", "|---|---|---|---|"]
    for op, m in micro["ops"].items():
        lines.append(f"| {op} | {m['tinygrad_np_us']:.1f} | {m['numpy_us']:.1f} | "
                     f"{m['overhead_us']:.1f} |")
    return lines + ["", f"detect_anomaly off costs {micro['anomaly_off_check_ns']:.0f} ns per "
                    "op (one attribute read)."]


def previous_lines(data, previous) -> list[str]:
    if not previous:
        return []
    lines = [f"Against the previous run ({previous['time_utc'][:19]}, commit "
             f"{previous['machine'].get('git_commit')}):"]
    if previous["machine"].get("cpu") != data["machine"]["cpu"]:
        lines.append(f"- on another CPU ({previous['machine'].get('cpu')}; now "
                     f"{data['machine']['cpu']}): compare with care")
    for name, by_row in data["results"].items():
        old_cfg = previous.get("config", {}).get(name)
        new_cfg = json.loads(json.dumps(data["config"][name]))  # tuples as lists, as in a file
        if not old_cfg or any(old_cfg[k] != v for k, v in new_cfg.items() if k in old_cfg):
            lines.append(f"- {name}: not compared (the previous run timed other settings)")
            continue
        for row, entry in by_row.items():
            old = previous.get("results", {}).get(name, {}).get(row, {}).get("median")
            if old and entry.get("median"):
                lines.append(f"- {name} {row}: {old:.3g} -> {entry['median']:.3g} "
                             f"({entry['median'] / old:.2f}x)")
    old_kernels = {(k["internal_api"], k["version"], k["architecture"])
                   for k in previous.get("blas_kernels", [])}
    new_kernels = {(k["internal_api"], k["version"], k["architecture"])
                   for k in data["blas_kernels"]}
    if old_kernels and old_kernels != new_kernels:
        lines.append(f"- the BLAS kernels differ: then {sorted(old_kernels)}, now "
                     f"{sorted(new_kernels)}")
    return lines


def machine_lines(data) -> list[str]:
    m = data["machine"]
    kernels = "; ".join(
        f"{k['internal_api']} {k['version'] or ''}"
        + (f" kernel {k['architecture']}" if k["architecture"] else "")
        + f" ({k['file']}; {len(k['rows'])} rows)" for k in data["blas_kernels"])
    unset = ", ".join(f"{k} (was {v!r})" if v is not None else f"{k} (was not set)"
                      for k, v in data["unset_for_children"].items())
    jobs = [j for by_row in data["results"].values() for e in by_row.values()
            for j in e.get("jobs", [])]
    others = [j["others_cpus"] for j in jobs]
    redone = sum("redone_after" in j for j in jobs)
    busy = sum(j.get("busy", False) for j in jobs)
    gate = data["load_gate"]
    round_loads = [g["load"] for g in gate["rounds"]]
    waited = gate.get("waited_total_s", sum(g["waited_s"] for g in gate["rounds"]))
    noisy = sum(g["quiet"] is False for g in gate["rounds"])
    la = m["load_average"]
    dirty = " (with uncommitted changes)" if m.get("git_dirty") else ""
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy "
             f"{m['numpy']}; commit {m['git_commit']}{dirty}.",
             f"BLAS the children ran: {kernels or 'not recorded'}. Unset for every child: "
             f"{unset}. Threads requested per child: {m['threads_requested'] or 'library default'}"
             + ("; JAX pinned to one CPU." if m["threads_requested"] == 1 else "."),
             f"Load average (1, 5, 15 min): {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} at the start, "
             f"{la[3]:.2f} {la[4]:.2f} {la[5]:.2f} at the end; 1-minute load at the start of "
             f"each round {_range(round_loads, _ratio)}. Load gate (other processes' CPUs <= "
             f"{gate['max_others_cpus']}; at most {gate['max_wait_s']:.0f} s per wait, "
             f"{gate.get('budget_s', 0):.0f} s per run): waited {waited:.0f} s; {noisy} of "
             f"{len(gate['rounds'])} rounds started on a busy machine."]
    if others:
        lines.append("Other processes' CPU use while a child ran: median "
                     f"{statistics.median(others):.2f}, max {max(others):.2f} CPUs; {redone} of "
                     f"{len(jobs)} children run again, {busy} kept although the machine was "
                     "busy (marked * in the tables).")
    for row, why in data["skipped"].items():
        lines.append(f"Skipped {row}: {why}.")
    return lines


def report(data: dict, previous: dict | None) -> str:
    """The markdown tables printed at the end (and pasted into the README)."""
    res = data["results"]
    threads = data["machine"]["threads_requested"] or "default"
    out = []
    for name, by_row in res.items():
        out += workload_table(name, data["config"][name], by_row, threads) + [""]
    for part in (goals_table(res), baseline_lines(data), rss_lines(data), variant_lines(res),
                 micro_lines(data.get("micro")), previous_lines(data, previous),
                 machine_lines(data)):
        if part:
            out += part + [""]
    return "\n".join(out).rstrip()
