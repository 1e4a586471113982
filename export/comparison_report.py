"""The float-vs-quantized report: Markdown, JSON, a plot, per-sample CSVs, and their recomputation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from mer_tf.tflite_metadata import atomic_write

PRED_DIR = "predictions"


def _csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _write_predictions(out: Path, result, arrays, predictions, verdicts) -> dict[str, str]:
    classes = result["classes"]
    header = ["subject", "sample_id", "truth", "cnn", "ecrl", "fused"] + [f"logp_{c}" for c in classes]
    paths = {}
    for variant, p in predictions.items():
        rows = []
        for i in range(len(arrays)):
            truth = classes[arrays.y[i]] if arrays.y[i] >= 0 else ""
            ecrl = "" if verdicts is None else (verdicts[i] or "")
            fused = "" if p["fused"] is None else p["fused"][i]
            # repr() of the float64 of a float32 round-trips exactly: the CSV can be recomputed.
            rows.append([arrays.subjects[i], arrays.sample_ids[i], truth, p["cnn"][i], ecrl, fused]
                        + [repr(float(v)) for v in p["logp"][i]])
        path = out / PRED_DIR / f"{variant}.csv"
        atomic_write(path, _csv_bytes(header, rows))
        paths[variant] = str(path)
    return paths


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def markdown(result: dict[str, Any]) -> str:
    """The report as Markdown (the same numbers as report.json)."""
    synthetic = "synthetic" in result["samples"]["source"].lower()
    tag = " (synthetic data)" if synthetic else ""
    threads = list(next(iter(result["variants"].values()))["latency"])
    lines = [
        f"# {result['model_name']}: float vs quantized{tag}",
        "",
        f"Samples: {result['samples']['n']} ({result['samples']['labelled']} labelled) — {result['samples']['source']}.",
        f"ECRL: {result['ecrl']}.",
        f"Log-probability differences are taken after clipping at {result['logp_floor']} (int8 LOG_SOFTMAX's range).",
        "gzip KB: the file compressed with gzip -9 (pruning's zeros only pay off compressed).",
        "Latency: one inference (batch 1) in ai_edge_litert, median and p95 over repeated invokes, this machine.",
        "",
        "| variant | size KB | gzip KB | size ×f32 | acc | UF1 | UAR | fused acc | fused UF1 | fused UAR | agree f32 "
        "| mean abs Δlogp | acc drop pts | " + " | ".join(f"{t} thr med/p95 ms" for t in threads) + " | latency ×f32 |",
        "|---|" + "---:|" * (13 + len(threads)),
    ]
    for name, v in result["variants"].items():
        f = v["fused"] or {}
        lat = v["latency"]
        cells = [
            name, _fmt(v["bytes"] / 1024, ".1f"), _fmt(v["gzip_bytes"] / 1024, ".1f"), _fmt(v["size_ratio"], ".2f"),
            _fmt(v["cnn"]["accuracy"]), _fmt(v["cnn"]["uf1"]), _fmt(v["cnn"]["uar"]),
            _fmt(f.get("accuracy")), _fmt(f.get("uf1")), _fmt(f.get("uar")),
            _fmt(v["agreement"], ".4f"), _fmt(v["mean_abs_logp_diff"], ".4f"), _fmt(v["accuracy_drop_points"], ".2f"),
        ]
        cells += [f"{_fmt(lat[t]['median_ms'])} / {_fmt(lat[t]['p95_ms'])}" if t in lat else "-" for t in threads]
        cells.append(_fmt(v["latency_ratio"], ".2f"))
        lines.append("| " + " | ".join(cells) + " |")
    variants = list(result["variants"])
    lines += ["", "## Per-class recall change vs float32 (CNN alone, points)", "",
              "| class | support | " + " | ".join(variants) + " |", "|---|---:|" + "---:|" * len(variants)]
    ref = result["variants"][variants[0]]["cnn"]["per_class"]
    for c in result["classes"]:
        deltas = [result["variants"][v]["per_class_delta"][c]["recall"] for v in variants]
        lines.append(f"| {c} | {ref[c]['support']} | " + " | ".join(_fmt(None if d is None else 100 * d, "+.1f") for d in deltas) + " |")
    lines += ["", "## Thresholds", ""]
    t = result["thresholds"]
    lines.append(f"max accuracy drop: {t['max_accuracy_drop']} points; min agreement: {t['min_agreement']}.")
    lines += [f"- FAIL {f}" for f in result["failures"]] or ["- all variants pass"]
    lines += ["", f"Per-sample predictions: `{PRED_DIR}/<variant>.csv` (recompute with `export.comparison_report.recompute`).", ""]
    return "\n".join(lines)


def _plot(result: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["variants"])
    v = result["variants"]
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for k, (metric, label) in enumerate((("accuracy", "accuracy"), ("uf1", "UF1"), ("uar", "UAR"))):
        axes[0].bar(x + (k - 1) * 0.25, [v[n]["cnn"][metric] for n in names], 0.25, label=label)
    axes[0].plot(x, [v[n]["agreement"] for n in names], "k^", label="agreement w/ float32")
    held = "NOT a held-out test" not in result["samples"]["source"]
    synthetic = " (synthetic)" if "synthetic" in result["samples"]["source"].lower() else ""
    what = "held-out" if held else "all (not held-out)"
    axes[0].set(title=f"CNN on {result['samples']['n']} {what} samples{synthetic}", ylim=(0, 1.05), xticks=x,
                xticklabels=names)
    axes[0].legend(fontsize=7)
    axes[1].bar(x - 0.2, [v[n]["bytes"] / 1024 for n in names], 0.4, color="tab:gray", label=".tflite")
    axes[1].bar(x + 0.2, [v[n]["gzip_bytes"] / 1024 for n in names], 0.4, color="tab:olive", label="gzip -9")
    axes[1].set(title="file size (KB)", xticks=x, xticklabels=names)
    axes[1].legend(fontsize=7)
    thread_keys = list(v[names[0]]["latency"])
    width = 0.8 / len(thread_keys)
    for k, t in enumerate(thread_keys):
        axes[2].bar(x + (k - (len(thread_keys) - 1) / 2) * width, [v[n]["latency"][t]["median_ms"] for n in names], width, label=f"{t} thread(s)")
    axes[2].set(title="median latency per inference (ms, LiteRT)", xticks=x, xticklabels=names)
    axes[2].legend(fontsize=7)
    for ax in axes:
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def write_report(result, arrays, predictions, verdicts, out_dir: Path) -> dict[str, Any]:
    """Write predictions/*.csv, report.json, report.md and report.png atomically; returns their paths."""
    from mer_tf.outputs import write_marker

    out_dir = Path(out_dir)
    if not out_dir.exists() or not any(out_dir.iterdir()):
        write_marker(out_dir, "compare")  # a folder of the user's (written into with --overwrite) stays unmarked
    paths: dict[str, Any] = {"predictions": _write_predictions(out_dir, result, arrays, predictions, verdicts)}
    paths.update(json=str(out_dir / "report.json"), markdown=str(out_dir / "report.md"), plot=str(out_dir / "report.png"))
    result = {**result, "paths": paths}
    atomic_write(out_dir / "report.png", _plot(result))
    atomic_write(out_dir / "report.md", markdown(result).encode("utf-8"))
    atomic_write(out_dir / "report.json", (json.dumps(result, indent=1) + "\n").encode("utf-8"))
    return paths


def recompute(out_dir: str | Path, reference: str = "float32", logp_floor: float = -16.0) -> dict[str, dict[str, Any]]:
    """The report's accuracy/UF1/UAR (CNN and fused), agreement and log-prob difference, from the CSVs alone."""
    from mer_tf.metrics import pooled_scores

    pred_dir = Path(out_dir) / PRED_DIR
    tables = {}
    for path in sorted(pred_dir.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            tables[path.stem] = list(csv.DictReader(fh))
    if reference not in tables:
        raise FileNotFoundError(f"{pred_dir / (reference + '.csv')} not found; run `mer compare` first.")
    classes = [k[len("logp_"):] for k in tables[reference][0] if k.startswith("logp_")]
    ref = tables[reference]
    ref_logp = np.array([[float(r[f"logp_{c}"]) for c in classes] for r in ref])
    out = {}
    for variant, rows in tables.items():
        labelled = [r for r in rows if r["truth"]]
        truth = [r["truth"] for r in labelled]
        logp = np.array([[float(r[f"logp_{c}"]) for c in classes] for r in rows])
        entry = {
            "cnn": pooled_scores(truth, [r["cnn"] for r in labelled], classes),
            "fused": pooled_scores(truth, [r["fused"] for r in labelled], classes) if labelled and labelled[0]["fused"] else None,
            "agreement": float(np.mean([a["cnn"] == b["cnn"] for a, b in zip(rows, ref)])),
            "mean_abs_logp_diff": float(np.abs(np.maximum(logp, logp_floor) - np.maximum(ref_logp, logp_floor)).mean()),
        }
        out[variant] = entry
    return out
