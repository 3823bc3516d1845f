#!/usr/bin/env python3
"""summarize.py — the tables and curves of one method's experiment.

Usage: summarize.py METHOD RUNS_DIR RESULTS_DIR "SEEDS"

Reads RUNS_DIR/ARM-seedN/{metrics.csv,wall_seconds,command} of every run
that finished, and writes RESULTS_DIR/METHOD.md (per arm: each metric of
the final stage's best epoch as mean ± sd over the seeds, wall time, the
per-seed values; the commands, the commit, the machine) and
RESULTS_DIR/METHOD-curves.svg (the final stage's followed metric per
epoch, a thin line per seed and a thick one for the mean of each arm).
Only the standard library: the experiments need python3, not numpy.
"""
import csv
import datetime
import math
import os
import platform
import subprocess
import sys

TITLES = {
    "s1": "S1 Boosting U-Net: staged training with frozen sub-networks vs the full net from scratch",
    "s2": "S2 distillation: the distilled student vs the same student trained alone",
    "s3": "S3 DenseNet on small lesions: distance-weighted focal vs plain focal vs BCE",
    "s4": "S4 2D U-Net: per-class IoU and mIoU with cross-entropy",
    "s5": "S5 CCT: cross-consistency with the unlabelled stream vs supervised only",
}


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def final_stage_rows(rows):
    """The last stage's rows (the network the run ends with)."""
    if not rows:
        return []
    last = rows[-1]["stage"]
    return [r for r in rows if r["stage"] == last]


def best_row(rows):
    """The row the stage kept: the highest followed metric (as best() does
    when it follows the same metric), ties to the earlier epoch."""
    best = None
    for r in rows:
        v = num(r.get("monitor_value"))
        if math.isnan(v):
            continue
        if best is None or v > num(best["monitor_value"]):
            best = r
    return best or (rows[-1] if rows else None)


def metric_columns(rows):
    # bookkeeping, not results (time is in the per-run table), and the
    # detection rate of the background, which has no objects to find
    skip = {"stage", "epoch", "loss", "lr", "monitor", "best", "seconds", "step_seconds",
            "detected_background"}
    return [c for c in rows[0].keys() if c not in skip] if rows else []


def mean_sd(xs):
    xs = [x for x in xs if not math.isnan(x)]
    if not xs:
        return math.nan, math.nan
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd


def fmt(m, sd, digits=4):
    if math.isnan(m):
        return "n/a"
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


def runs_of(runs_dir):
    """{arm: [(seed, run_dir)]} of the runs that finished."""
    arms = {}
    for name in sorted(os.listdir(runs_dir)):
        d = os.path.join(runs_dir, name)
        if not os.path.isfile(os.path.join(d, "done")) or "-seed" not in name:
            continue
        arm, seed = name.rsplit("-seed", 1)
        arms.setdefault(arm, []).append((int(seed), d))
    return arms


def stage_seconds(log_path):
    """Per stage, the wall time of its epochs (from the epoch lines)."""
    out = {}
    if not os.path.exists(log_path):
        return out
    for line in open(log_path):
        parts = line.split()
        if len(parts) > 3 and parts[1] == "epoch":
            for p in parts:
                if p.endswith("s") and p[:-1].replace(".", "", 1).isdigit() and "/" not in p:
                    out[parts[0]] = out.get(parts[0], 0.0) + float(p[:-1])
                    break
    return out


def arm_table(arms):
    lines = []
    first = next(iter(arms.values()))[0][1]
    cols = metric_columns(final_stage_rows(read_rows(os.path.join(first, "metrics.csv"))))
    cols = [c for c in cols if c != "monitor_value"]
    lines.append("| arm | seeds | followed metric (best epoch) | " + " | ".join(cols) +
                 " | wall time s |")
    lines.append("|---|--:|---|" + "--:|" * len(cols) + "--:|")
    per_seed = []
    for arm, runs in arms.items():
        vals = {c: [] for c in cols}
        mon, walls, name = [], [], ""
        for seed, d in sorted(runs):
            rows = final_stage_rows(read_rows(os.path.join(d, "metrics.csv")))
            b = best_row(rows)
            name = b["monitor"] if b else ""
            mon.append(num(b["monitor_value"]) if b else math.nan)
            for c in cols:
                vals[c].append(num(b.get(c)) if b else math.nan)
            w = num(open(os.path.join(d, "wall_seconds")).read()) if os.path.exists(
                os.path.join(d, "wall_seconds")) else math.nan
            walls.append(w)
            per_seed.append((arm, seed, b["epoch"] if b else "?", mon[-1], w,
                             stage_seconds(os.path.join(d, "train.log"))))
        cells = [fmt(*mean_sd(vals[c])) for c in cols]
        lines.append(f"| {arm} | {len(runs)} | {name} {fmt(*mean_sd(mon))} | " +
                     " | ".join(cells) + f" | {fmt(*mean_sd(walls), digits=0)} |")
    lines.append("")
    lines.append("Per run (the final stage's best epoch; wall time of the whole `segc train`, "
                 "and of each stage's epochs incl. validation):")
    lines.append("")
    lines.append("| arm | seed | best epoch | followed metric | wall s | per stage s |")
    lines.append("|---|--:|--:|--:|--:|---|")
    for arm, seed, ep, m, w, st in per_seed:
        stages = ", ".join(f"{k} {v:.0f}" for k, v in st.items())
        lines.append(f"| {arm} | {seed} | {ep} | {m:.4f} | {w:.0f} | {stages} |")
    return lines


COLOURS = ["#2471a3", "#c0392b", "#27ae60", "#8e44ad", "#d35400"]


def curves_svg(arms, path, title):
    """The followed metric of the final stage per epoch: thin lines per
    seed, thick per arm mean, with axes, ticks and a legend."""
    series = {}
    max_ep = 1
    metric = "followed metric"
    for arm, runs in arms.items():
        for seed, d in runs:
            rows = final_stage_rows(read_rows(os.path.join(d, "metrics.csv")))
            if rows and rows[0].get("monitor"):
                metric = rows[0]["monitor"]
            pts = [(int(r["epoch"]), num(r["monitor_value"])) for r in rows]
            pts = [(e, v) for e, v in pts if not math.isnan(v)]
            series.setdefault(arm, []).append(pts)
            if pts:
                max_ep = max(max_ep, pts[-1][0])
    W, H, x0, y0, w, h = 900, 480, 70, 50, 640, 360
    px = lambda e: x0 + w * (e - 1) / max(1, max_ep - 1)
    py = lambda v: y0 + h * (1 - v)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           'font-family="sans-serif">', f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{x0}" y="24" font-size="14">{title}</text>',
           f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#888"/>']
    for t in range(6):
        v = t / 5
        out.append(f'<line x1="{x0}" y1="{py(v):.1f}" x2="{x0 + w}" y2="{py(v):.1f}" '
                   f'stroke="#eee"/><text x="{x0 - 6}" y="{py(v) + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{v:.1f}</text>')
    step = max(1, round(max_ep / 10))
    for e in range(1, max_ep + 1, step):
        out.append(f'<text x="{px(e):.1f}" y="{y0 + h + 16}" font-size="11" '
                   f'text-anchor="middle">{e}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" font-size="12">epoch</text>')
    out.append(f'<text x="18" y="{y0 + h / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 18 {y0 + h / 2})">{metric} (validation)</text>')
    for i, (arm, runs) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        for pts in runs:
            p = " ".join(f"{px(e):.1f},{py(v):.1f}" for e, v in pts)
            out.append(f'<polyline fill="none" stroke="{c}" stroke-opacity="0.35" '
                       f'stroke-width="1" points="{p}"/>')
        eps = sorted({e for pts in runs for e, _ in pts})
        mean = []
        for e in eps:
            vs = [v for pts in runs for ee, v in pts if ee == e]
            mean.append((e, sum(vs) / len(vs)))
        p = " ".join(f"{px(e):.1f},{py(v):.1f}" for e, v in mean)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2.5" points="{p}"/>')
        out.append(f'<text x="{x0 + w + 14}" y="{y0 + 14 + 18 * i}" font-size="12" '
                   f'fill="{c}">{arm} (mean of {len(runs)})</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"],
                                       text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    method, runs_dir, results_dir, seeds = sys.argv[1:5]
    arms = runs_of(runs_dir)
    os.makedirs(results_dir, exist_ok=True)
    md = os.path.join(results_dir, f"{method}.md")
    lines = [f"# {TITLES.get(method, method)}", ""]
    lines.append(f"Written by `make experiments M={method}` on "
                 f"{datetime.date.today().isoformat()}, commit {commit()}, "
                 f"{platform.machine()} with {os.cpu_count()} CPUs; seeds {seeds}.")
    lines.append("")
    if not arms:
        lines.append("No finished runs.")
    else:
        lines += arm_table(arms)
        curves_svg(arms, os.path.join(results_dir, f"{method}-curves.svg"),
                   TITLES.get(method, method))
        lines += ["", f"Curves: [{method}-curves.svg]({method}-curves.svg) (the final stage's "
                  "followed metric per epoch; thin: seeds, thick: mean).", "", "Commands:", ""]
        for arm, runs in arms.items():
            for seed, d in sorted(runs):
                c = open(os.path.join(d, "command")).read().strip()
                lines.append(f"    {c}")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
