"""compare_exports: every exported variant side by side on the same held-out samples."""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from export.folder_samples import folder_samples
from export.litert_model import LiteRTModel
from export.sample_arrays import SampleArrays
from mer_tf import tflite_metadata
from mer_tf.model_folder import ModelFolder

log = logging.getLogger(__name__)

# int8 LOG_SOFTMAX outputs live on a fixed grid over [-16, 0] (scale 16/256):
# log-probability differences are measured after clipping both sides there, so
# that a float model's -50 vs int8's -16 (both ~0 probability) does not dominate.
LOGP_FLOOR = -16.0
REFERENCE = "float32"


def _ecrl_and_policy(folder: ModelFolder, arrays: SampleArrays) -> tuple[list[str | None] | None, Any, str]:
    """ECRL verdicts per sample (None: no rule fired) and the fusion policy; or None with the reason."""
    if not arrays.has_landmarks:
        return None, None, "no landmarks for these samples: no ECRL/fused columns"
    if not (folder.path / "ecrl.json").is_file():
        return None, None, f"no ecrl.json in {folder.path}: no ECRL/fused columns"
    from mer_tf.labels import CLASSES, MEGC3, SEVEN_TO_MEGC3

    if tuple(folder.classes) not in (tuple(CLASSES), tuple(MEGC3)):
        return None, None, f"the model's classes {list(folder.classes)} are neither the seven nor the MEGC 3 classes: no fused columns"
    try:
        from mer_tf.ecrl import ECRL
        from mer_tf.training.predictions import fusion_policy
    except ImportError as exc:
        return None, None, f"ECRL/fusion unavailable ({exc}): no fused columns"
    ecrl = ECRL.load(folder.path / "ecrl.json")
    verdicts = [ecrl.predict(a, n).label for a, n in zip(arrays.apex_landmarks, arrays.neutral_landmarks)]
    scheme = "megc3" if tuple(folder.classes) == tuple(MEGC3) else "seven"
    if scheme == "megc3":
        verdicts = [SEVEN_TO_MEGC3.get(v) if v else None for v in verdicts]
    policy = fusion_policy(str(folder.config.get("fusion", "paper")), scheme)
    return verdicts, policy, f"ECRL from ecrl.json, fusion: {policy.name} (Fig. 6{' read on 3 classes' if scheme == 'megc3' else ''})"


def _per_class_delta(scores: dict, ref: dict) -> dict[str, dict[str, float | None]]:
    out = {}
    for name, pc in scores["per_class"].items():
        r = ref["per_class"][name]
        out[name] = {k: (None if pc[k] is None or r[k] is None else pc[k] - r[k]) for k in ("recall", "f1")}
    return out


def _latency(path: Path, x1: np.ndarray, threads: tuple[int, ...], runs: int) -> dict[str, dict[str, float]]:
    out = {}
    for t in threads:
        times = LiteRTModel(path, num_threads=t).latency_ms(x1, runs=runs)
        out[str(t)] = {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)), "runs": runs}
    return out


def _check_out(export_dir: Path, out_dir: Path, data, overwrite: bool) -> None:
    """The report goes into the export folder (default), a new or empty folder, or an earlier report's."""
    from mer_tf.outputs import check_folder

    if not export_dir.is_dir():
        raise FileNotFoundError(f"export folder not found: {export_dir}; run `mer export MODEL_DIR NEW_FOLDER` first.")
    check_folder(out_dir, "compare", what="report folder", overwrite=overwrite,
                 inputs={"export folder": export_dir, "data": data}, allow_equal=[export_dir], accept=["export"])


def _check_listed(export_dir: Path) -> None:
    """Every variant export.json lists must be there: a missing one is not a passing one."""
    manifest = export_dir / "export.json"
    if not manifest.is_file():
        return
    try:
        listed = json.loads(manifest.read_text()).get("variants", {})
    except (ValueError, AttributeError):
        raise ValueError(f"{manifest} is not an export manifest (invalid JSON); re-run `mer export`.") from None
    missing = [f"{name} ({entry.get('file')})" for name, entry in listed.items()
               if not isinstance(entry, dict) or not (export_dir / str(entry.get("file"))).is_file()]
    if missing:
        raise FileNotFoundError(f"{export_dir} lacks variants its export.json lists: {', '.join(missing)}; "
                                "re-run `mer export` into a new folder.")


def compare_exports(
    export_dir: str | os.PathLike,
    data: str | os.PathLike | None = None,
    dataset: str | None = None,
    out_dir: str | os.PathLike | None = None,
    max_accuracy_drop: float | None = None,
    min_agreement: float | None = None,
    threads: tuple[int, ...] = (1, 2),
    latency_runs: int = 100,
    all_samples: bool = False,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Evaluate every `.tflite` of an export folder on the model's held-out samples.

    Args:
        export_dir: a `mer export` folder.
        data: the dataset root (default: the model's config.json's) or a SampleArrays `.npz`.
        dataset: the dataset kind (default: config.json's).
        out_dir: where report.md/.json/.png and predictions/*.csv go (default: `export_dir`).
        max_accuracy_drop: fail a variant whose CNN accuracy is more than this many
            percentage points below float32's.
        min_agreement: fail a variant whose top-1 agreement with float32 is below this (0-1).
        threads: LiteRT thread counts to time.
        latency_runs: timed invokes per variant and thread count.
        all_samples: use every sample of `data`, training subjects included (more
            samples for agreement statistics; the report says it is not held out).
        progress: tqdm bar on stderr.
        overwrite: write the report files into `out_dir` even when it holds files
            mer-tf did not write (`mer_tf.outputs`).

    Returns:
        {"variants": {name: {...}}, "samples": ..., "failures": [...], "paths": {...}}
        (also written as report.json).
    """
    from tqdm import tqdm

    from export.comparison_report import write_report
    from mer_tf.metrics import pooled_scores

    export_dir = Path(export_dir)
    out_dir = Path(out_dir) if out_dir else export_dir
    _check_out(export_dir, out_dir, data, overwrite)
    folder = ModelFolder.load(export_dir, require_model=False)
    files = sorted(export_dir.glob("*.tflite"))
    if not files:
        raise FileNotFoundError(f"no .tflite files in {export_dir}; run `mer export MODEL_DIR NEW_FOLDER` first.")
    _check_listed(export_dir)
    metas = {p: tflite_metadata.read(p) for p in files}  # a corrupt file fails here, naming itself
    by_variant = {m["variant"]: p for p, m in metas.items()}
    if REFERENCE not in by_variant:
        raise ValueError(f"{export_dir} has no float32 variant to compare against; export with --variants float32,...")
    arrays = folder_samples(folder, "all" if all_samples else "test", data, dataset, progress=progress)
    if len(arrays) == 0:
        raise ValueError(f"no held-out samples: {arrays.source}")
    classes = list(folder.classes)
    known = arrays.y >= 0
    verdicts, policy, ecrl_note = _ecrl_and_policy(folder, arrays)

    order = [REFERENCE] + sorted(v for v in by_variant if v != REFERENCE)
    results: dict[str, Any] = {}
    predictions: dict[str, dict[str, Any]] = {}
    for variant in tqdm(order, desc="compare", disable=not progress, unit="variant"):
        path = by_variant[variant]
        logp = LiteRTModel(path, num_threads=1)(arrays.x)  # (N, C) float32
        cnn = [classes[i] for i in logp.argmax(1)]
        fused = None
        if verdicts is not None:
            fused = [policy.fuse(c, e)[0] for c, e in zip(cnn, verdicts)]
        predictions[variant] = {"logp": logp, "cnn": cnn, "fused": fused}
        truth = [classes[i] for i in arrays.y[known]]
        entry = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "gzip_bytes": len(gzip.compress(path.read_bytes(), compresslevel=9)),
            "input_dtype": metas[path]["input"]["dtype"],
            "cnn": pooled_scores(truth, np.asarray(cnn)[known].tolist(), classes),
            "fused": None if fused is None else pooled_scores(truth, np.asarray(fused)[known].tolist(), classes),
            "latency": _latency(path, arrays.x[0], threads, latency_runs),
        }
        results[variant] = entry
    ref = predictions[REFERENCE]
    ref_scores = results[REFERENCE]
    first = str(threads[0])  # the latency ratio uses the first thread count
    for variant, entry in results.items():
        p = predictions[variant]
        entry["agreement"] = float(np.mean(np.asarray(p["cnn"]) == np.asarray(ref["cnn"])))
        clipped = np.maximum(p["logp"], LOGP_FLOOR) - np.maximum(ref["logp"], LOGP_FLOOR)
        entry["mean_abs_logp_diff"] = float(np.abs(clipped).mean())
        entry["accuracy_drop_points"] = 100.0 * (ref_scores["cnn"]["accuracy"] - entry["cnn"]["accuracy"])
        entry["size_ratio"] = entry["bytes"] / ref_scores["bytes"]
        entry["latency_ratio"] = entry["latency"][first]["median_ms"] / ref_scores["latency"][first]["median_ms"]
        entry["per_class_delta"] = _per_class_delta(entry["cnn"], ref_scores["cnn"])
    failures = []
    for variant, entry in results.items():
        if variant == REFERENCE:
            continue
        if max_accuracy_drop is not None and entry["accuracy_drop_points"] > max_accuracy_drop:
            failures.append(f"{variant}: accuracy drop {entry['accuracy_drop_points']:.2f} points > {max_accuracy_drop}")
        if min_agreement is not None and entry["agreement"] < min_agreement:
            failures.append(f"{variant}: agreement with float32 {entry['agreement']:.4f} < {min_agreement}")
    result = {
        "export_dir": str(export_dir),
        "model_name": folder.model_name,
        "classes": classes,
        "samples": {"n": len(arrays), "labelled": int(known.sum()), "source": arrays.source,
                    "subjects": sorted(set(arrays.subjects.tolist()))},
        "ecrl": ecrl_note,
        "logp_floor": LOGP_FLOOR,
        "thresholds": {"max_accuracy_drop": max_accuracy_drop, "min_agreement": min_agreement},
        "variants": results,
        "failures": failures,
    }
    result["paths"] = write_report(result, arrays, predictions, verdicts, out_dir)
    log.info("compared %d variants on %d samples; %d threshold failures", len(results), len(arrays), len(failures))
    return result


def load_result(path: str | os.PathLike) -> dict[str, Any]:
    """A report.json written by `compare_exports`."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    return json.loads(path.read_text(encoding="utf-8"))
