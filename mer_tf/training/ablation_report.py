"""Ablation artifacts: Markdown tables, CSV, JSON, per-cell predictions and a plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mer_tf.report import atomic_write_text
from mer_tf.training.reports import _pyplot, _save_figure, atomic_folder, write_csv, write_json

TABLE_COLUMNS = ("table", "architecture", "cell", "column", "accuracy", "uf1", "uar", "ms_per_sample", "n", "median_epochs", "train_minutes")


def markdown(table: Sequence[dict], meta: dict) -> str:
    """The three tables in Markdown, labelled synthetic where they are."""
    cfg = meta["config"]
    tag = " (synthetic data)" if meta.get("synthetic") else ""
    lines = [
        f"# Ablation: the paper's Tables 1-3{tag}",
        "",
        f"Dataset `{cfg['dataset']}` at `{cfg['data']}`: {meta['n_samples']} samples, {len(meta['subjects'])} subjects; "
        f"input `{cfg['input']}` {cfg['size']}x{cfg['size']}; classes `{cfg['classes']}`; "
        f"up to {cfg['epochs']} epochs, early stopping (patience {cfg['patience']}) on {cfg['val_subjects']} validation "
        f"subjects of each fold's training subjects; leave-one-{cfg['loso_group_by']}-out over "
        f"{meta['folds_run']} folds{' (PARTIAL: not every subject was a test fold)' if meta.get('partial') else ''}.",
        "Scores are pooled over folds (UF1, UAR: mean over the classes with true samples). "
        "ms per sample: median single-sample CNN forward pass (+ ECRL + fusion for ECCNN + ECRL), "
        "measured while two tasks shared the 2 CPUs.",
        "",
    ]
    current = None
    for row in table:
        if row["table"] != current:
            current = row["table"]
            lines += ["", f"## {current}", "", "| Architecture | Accuracy | UF1 | UAR | ms/sample | N |", "|---|---|---|---|---|---|"]
        lines.append(
            f"| {row['architecture']} | {row['accuracy']:.3f} | {row['uf1']:.3f} | {row['uar']:.3f} | "
            f"{row['ms_per_sample']:.2f} | {row['n']} |"
        )
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


def write_ablation(out_dir: Path, table, per_cell: dict, meta: dict, prediction_columns) -> dict[str, Path]:
    names = ["ablation.md", "ablation.csv", "ablation.json", "ablation.png"]
    with atomic_folder(out_dir) as tmp:
        atomic_write_text(tmp / "ablation.md", markdown(table, meta))
        write_csv(tmp / "ablation.csv", table, TABLE_COLUMNS)
        cells = {c: {"scores": v["scores"], "ms_per_sample": v["timing"], "epochs": v["epochs"]} for c, v in per_cell.items()}
        write_json(tmp / "ablation.json", {"table": table, "cells": cells, **meta})
        plot_table(tmp / "ablation.png", table, meta.get("synthetic", False))
        for cell_id, cell in per_cell.items():
            name = f"predictions_{cell_id}.csv"
            write_csv(tmp / name, cell["rows"], list(prediction_columns) + ["fold"])
            names.append(name)
    return {n: Path(out_dir) / n for n in names}
