"""The files every evaluation writes: predictions CSV, scores JSON, confusion PNGs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mer_tf.atomic import atomic_folder, atomic_write_text
from mer_tf.metrics import format_scores
from mer_tf.training.plots_and_tables import plot_confusion, write_csv, write_json
from mer_tf.training.predictions import PREDICTION_COLUMNS


def summary_text(scores: dict, timing: dict, meta: dict) -> str:
    """The text block the CLI prints and `summary.txt` holds."""
    tag = " [synthetic data]" if meta.get("synthetic") else ""
    lines = []
    for column in ("cnn", "ecrl", "fused"):
        for part, s in scores.get(column, {}).items():
            lines.append(format_scores(s, f"{column.upper()} / {part}{tag}"))
    for column, parts in meta.get("validation_scores", {}).items():
        if "all" in parts:
            lines.append(format_scores(parts["all"], f"validation subjects: {column.upper()} / all{tag}"))
    for policy, entry in meta.get("fusion_policies", {}).get("test", {}).items():
        lines.append(format_scores(entry["scores"], f"fused under {policy} / all{tag}"))
    lines.append("ms per sample: " + ", ".join(f"{k} {v:.2f}" for k, v in timing.items()))
    return "\n".join(lines)


def write_evaluation(
    out_dir: Path,
    rows: Sequence[dict],
    scores: dict,
    timing: dict,
    classes: Sequence[str],
    meta: dict,
    title: str,
    val_rows: Sequence[dict] = (),
    kind: str = "evaluation",
    overwrite: bool = False,
    inputs: dict | None = None,
    extra_json: dict | None = None,
) -> dict[str, Path]:
    """Write the evaluation folder atomically; returns artifact name -> path.

    `val_rows`: predictions on the validation subjects (validation_predictions.csv).
    `kind` ("evaluation" or "loso"), `overwrite` and `inputs`: see `mer_tf.outputs.check_folder`.
    `extra_json`: file name -> JSON-serializable content, written into the same folder.
    """
    out_dir = Path(out_dir)
    names = []
    columns = list(PREDICTION_COLUMNS) + [c for c in ("cnn_single", "cnn_first", "fold") if rows and c in rows[0]]
    with atomic_folder(out_dir, kind, overwrite=overwrite, inputs=inputs) as tmp:
        write_csv(tmp / "predictions.csv", rows, columns)
        names.append("predictions.csv")
        if val_rows:
            write_csv(tmp / "validation_predictions.csv", val_rows, columns)
            names.append("validation_predictions.csv")
        write_json(tmp / "scores.json", {"scores": scores, "ms_per_sample": timing, **meta})
        names.append("scores.json")
        for name, content in (extra_json or {}).items():
            write_json(tmp / name, content)
            names.append(name)
        atomic_write_text(tmp / "summary.txt", summary_text(scores, timing, meta) + "\n")
        names.append("summary.txt")
        tag = " (synthetic)" if meta.get("synthetic") else ""
        for column, parts in scores.items():
            for part, s in parts.items():
                name = f"confusion_{column}_{part}.png"
                plot_confusion(tmp / name, s["confusion"], s["classes"], f"{title}: {column}, {part}{tag}, UF1 {s['uf1']:.3f}")
                names.append(name)
    return {n: out_dir / n for n in names}
