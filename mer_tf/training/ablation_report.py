"""Ablation artifacts: Markdown tables, CSV, JSON, per-cell predictions and a plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mer_tf.atomic import atomic_folder, atomic_write_text
from mer_tf.training.config import TrainConfig
from mer_tf.training.plots_and_tables import _pyplot, _save_figure, write_csv, write_json

TABLE_COLUMNS = ("table", "architecture", "cell", "column", "seeds", "accuracy", "accuracy_sd", "uf1", "uf1_sd", "uar",
                 "uar_sd", "val_uf1", "ms_per_sample", "n", "median_epochs", "train_minutes")


def _pm(row: dict, key: str) -> str:
    return f"{row[key]:.3f}" + (f" ± {row[key + '_sd']:.3f}" if row.get("seeds", 1) > 1 else "")


def markdown(table: Sequence[dict], meta: dict) -> str:
    """The three tables in Markdown (mean ± sd over seeds), labelled synthetic where they are."""
    cfg = meta["config"]
    tag = " (synthetic data)" if meta.get("synthetic") else ""
    seeds = meta.get("seeds", [cfg["seed"]])
    lines = [
        f"# Ablation: the paper's Tables 1-3{tag}",
        "",
        f"Dataset `{cfg['dataset']}` at `{cfg['data']}`: {meta['n_samples']} samples, {len(meta['subjects'])} subjects; "
        f"input `{cfg['input']}` {cfg['size']}x{cfg['size']}; classes `{cfg['classes']}`; "
        + f"{TrainConfig.from_dict(cfg).training_rule}; "
        f"leave-one-{cfg['loso_group_by']}-out over "
        f"{meta['folds_run']} folds{' (PARTIAL: not every subject was a test fold)' if meta.get('partial') else ''}; "
        f"seeds {seeds} (mean ± sd over seeds where a cell ran several).",
        "Scores are pooled over folds (UF1, UAR: mean over the classes with true samples). "
        "val UF1: the same on every fold's validation subjects (what settings may be chosen on). "
        "ms per sample: median single-sample CNN forward pass (+ ECRL + fusion for ECCNN + ECRL), "
        "measured while two tasks shared the 2 CPUs.",
        "",
    ]
    parts = sorted({k[4:] for row in table for k in row if k.startswith("uf1_") and k != "uf1_sd"})
    current = None
    for row in table:
        if row["table"] != current:
            current = row["table"]
            head = "| Architecture | Seeds | Accuracy | UF1 | UAR | val UF1 | " + "".join(f"UF1 {p} | " for p in parts)
            lines += ["", f"## {current}", "", head + "ms/sample | N |", "|---" * (8 + len(parts)) + "|"]
        lines.append(
            f"| {row['architecture']} | {row.get('seeds', 1)} | {_pm(row, 'accuracy')} | {_pm(row, 'uf1')} | "
            f"{_pm(row, 'uar')} | {row.get('val_uf1', float('nan')):.3f} | "
            + "".join(f"{row.get('uf1_' + p, float('nan')):.3f} | " for p in parts)
            + f"{row['ms_per_sample']:.2f} | {row['n']} |"
        )
    if meta.get("paired"):
        lines += ["", "## Paired differences (same folds, same seeds)", "",
                  "| Question | Seeds | ΔUF1 | ΔUAR | ΔUF1 per seed |", "|---|---|---|---|---|"]
        for p in meta["paired"]:
            lines.append(f"| {p['question']} | {len(p['seeds'])} | {p['uf1']:+.3f} ± {p['uf1_sd']:.3f} | "
                         f"{p['uar']:+.3f} ± {p['uar_sd']:.3f} | {', '.join(f'{d:+.3f}' for d in p['uf1_per_seed'])} |")
    return "\n".join(lines) + "\n"


def plot_table(path: Path, table: Sequence[dict], synthetic: bool) -> Path:
    plt = _pyplot()
    rows = [r for r in table if r["table"].startswith("Table 3")] or list(table)
    rows += [r for r in table if not r["table"].startswith("Table 3") and r["cell"] not in {x["cell"] for x in rows}]
    labels = [r["architecture"].replace("ECCNN ", "ECCNN\n") for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 3.6))
    width = 0.27
    for k, (key, name) in enumerate((("accuracy", "accuracy"), ("uf1", "UF1"), ("uar", "UAR"))):
        ax.bar([i + (k - 1) * width for i in range(len(rows))], [r[key] for r in rows], width, label=name)
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("LOSO ablation" + (" (synthetic data)" if synthetic else ""), fontsize=9)
    try:
        return _save_figure(fig, path)
    finally:
        plt.close(fig)


def write_ablation(out_dir: Path, table, per_run: dict, meta: dict, prediction_columns, overwrite: bool = False,
                   inputs: dict | None = None) -> dict[str, Path]:
    """`per_run`: {(cell id, seed): {"rows", "val_rows", "scores", "validation", "timing", "epochs"}}.

    `overwrite`, `inputs`: see `mer_tf.outputs.check_folder`."""
    names = ["ablation.md", "ablation.csv", "ablation.json", "ablation.png"]
    with atomic_folder(out_dir, "ablation", overwrite=overwrite, inputs=inputs) as tmp:
        atomic_write_text(tmp / "ablation.md", markdown(table, meta))
        write_csv(tmp / "ablation.csv", table, TABLE_COLUMNS)
        runs = {f"{c}/seed-{seed}": {"scores": v["scores"], "validation": v["validation"], "ms_per_sample": v["timing"],
                                      "epochs": v["epochs"]} for (c, seed), v in per_run.items()}
        write_json(tmp / "ablation.json", {"table": table, "runs": runs, **meta})
        plot_table(tmp / "ablation.png", table, meta.get("synthetic", False))
        for (cell_id, seed), run in per_run.items():
            for kind, rows in (("predictions", run["rows"]), ("validation_predictions", run["val_rows"])):
                if rows:
                    name = f"{kind}_{cell_id}_seed{seed}.csv"
                    write_csv(tmp / name, rows, list(prediction_columns) + ["fold"])
                    names.append(name)
    return {n: Path(out_dir) / n for n in names}
