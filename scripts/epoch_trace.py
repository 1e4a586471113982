"""What per-fold epoch choice on the test subject would report, from `mer loso --trace-epochs` runs.

Each run folder is read four ways (`mer_tf.epoch_trace`): the last epoch
(mer-tf's protocol, the report's own CNN score), every epoch pooled, the best
single epoch (chosen on the test folds) and each fold at the epoch of its best
test accuracy (the rule of HTNet's public code). Several folders are seeds of
one configuration: the table gives each and their mean. Only the first is a
held-out score; the others are read here to put published figures beside ours.

    python scripts/epoch_trace.py /work/runs/trace_s0 /work/runs/trace_s1 --plot reports/epoch_trace.png
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from mer_tf.epoch_trace import read_trace, trace_scores
from mer_tf.outputs import OutputError, check_file

READINGS = (
    ("last", "last epoch of every fold (mer-tf's protocol)"),
    ("best_epoch", "best single epoch, chosen on the test folds"),
    ("oracle", "each fold at its best test-accuracy epoch (HTNet's code)"),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="`mer loso --trace-epochs` report folders (seeds of one configuration)")
    parser.add_argument("--plot", help="PNG: pooled UF1 per epoch of every run, with the last-epoch and oracle levels")
    args = parser.parse_args(argv)
    try:
        if args.plot:  # checked before any work; a file already there is never replaced
            check_file(args.plot, what="plot", inputs={f"run {i}": r for i, r in enumerate(args.runs)})
            if Path(args.plot).exists():
                raise OutputError(f"The plot {args.plot} exists already; choose a new file name.")
        results = [(run, trace_scores(read_trace(run))) for run in args.runs]
    except (OSError, ValueError) as err:  # OutputError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("| reading | " + " | ".join(Path(r).name for r, _ in results) + " | mean |")
    print("|---|" + "---|" * (len(results) + 1))
    for key, text in READINGS:
        cells = [f"{s[key]['uf1']:.3f} / {s[key]['uar']:.3f}" for _, s in results]
        uf1 = statistics.mean(s[key]["uf1"] for _, s in results)
        uar = statistics.mean(s[key]["uar"] for _, s in results)
        print(f"| {text} | " + " | ".join(cells) + f" | {uf1:.3f} / {uar:.3f} |")
    for run, s in results:
        print(f"{Path(run).name}: best single epoch {s['best_epoch']['epoch']} of {len(s['per_epoch'])}; "
              f"oracle epochs per fold: median {statistics.median(s['oracle']['epochs'].values()):g}")
    if args.plot:
        _plot(Path(args.plot), results)
        print(f"plot: {args.plot}")
    return 0


def _plot(path: Path, results) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mer_tf.atomic import temp_path

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (run, s) in enumerate(results):
        color = f"C{i}"
        ax.plot([p["epoch"] for p in s["per_epoch"]], [p["uf1"] for p in s["per_epoch"]], color=color,
                label=f"{Path(run).name}: every fold at epoch e")
        ax.axhline(s["oracle"]["uf1"], color=color, linestyle="--", linewidth=1,
                   label=f"{Path(run).name}: each fold at its best test epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("pooled UF1 (test folds)")
    ax.set_title("Epoch chosen on the test subject vs the last epoch")
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = temp_path(path, suffix=".png")
    try:
        fig.savefig(tmp, dpi=120)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
