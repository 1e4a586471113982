"""The paper's Tables 1-3 in one run (the `mer ablate` library call).

Every trained variant is a "cell"; every (cell, LOSO fold) pair is one Ray
task, so the whole grid spreads over the available CPUs (or a cluster).
ECCNN + ECRL is not trained separately: it is the fused column of the ECCNN
cell (3 pooling layers, local region layer), as in the paper's Fig. 6.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from mer_tf.training.config import TrainConfig
from mer_tf.training.loso import make_folds, merge_timing, prepare_outputs, run_fold
from mer_tf.training.predictions import PREDICTION_COLUMNS, score_rows
from mer_tf.training.samples import load_samples

log = logging.getLogger(__name__)

# (cell id, settings over the base config)
CELLS: tuple[tuple[str, dict], ...] = (
    ("eccnn_pool1", {"model": "eccnn", "pooling": 1, "local_region": True}),
    ("eccnn_pool2", {"model": "eccnn", "pooling": 2, "local_region": True}),
    ("eccnn_pool3", {"model": "eccnn", "pooling": 3, "local_region": True}),
    ("eccnn_no_local_region", {"model": "eccnn", "pooling": 3, "local_region": False}),
    ("drml", {"model": "drml"}),
    ("alexnet", {"model": "alexnet"}),
    ("convnet", {"model": "convnet"}),
    ("lcn", {"model": "lcn"}),
    ("ststnet", {"model": "ststnet"}),
)

# (table, row label, cell id, prediction column)
TABLES = (
    ("Table 1: local region layer", "ECCNN (without local region layer)", "eccnn_no_local_region", "cnn"),
    ("Table 1: local region layer", "ECCNN", "eccnn_pool3", "cnn"),
    ("Table 2: pooling layers", "ECCNN (one pooling layer)", "eccnn_pool1", "cnn"),
    ("Table 2: pooling layers", "ECCNN (two pooling layers)", "eccnn_pool2", "cnn"),
    ("Table 2: pooling layers", "ECCNN (three pooling layers)", "eccnn_pool3", "cnn"),
    ("Table 3: models", "DRML", "drml", "cnn"),
    ("Table 3: models", "AlexNet", "alexnet", "cnn"),
    ("Table 3: models", "ConvNet", "convnet", "cnn"),
    ("Table 3: models", "LCN", "lcn", "cnn"),
    ("Table 3: models", "ECCNN", "eccnn_pool3", "cnn"),
    ("Table 3: models", "ECCNN + ECRL", "eccnn_pool3", "fused"),
    ("Peer: the MEGC 2019 model on the same flow images", "STSTNet (re-implemented)", "ststnet", "cnn"),
    ("Peer: the MEGC 2019 model on the same flow images", "ECCNN", "eccnn_pool3", "cnn"),
)


@dataclass
class AblationResult:
    """What `run_ablation` wrote: the table rows and the artifact paths."""

    out_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def cell_config(config: TrainConfig, cell_id: str, settings: dict, seed: int) -> TrainConfig:
    """The config of one ablation cell: ECRL on the full ECCNN only; ECCNN's widths (`filters`) on ECCNN cells only."""
    model = settings.get("model", config.model)
    return replace(config, **settings, seed=seed, ecrl=(cell_id == "eccnn_pool3" and config.ecrl),
                   filters=config.filters if model == "eccnn" else ())


def run_ablation(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    samples: Sequence | None = None,
    cells: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    use_ray: bool = True,
    address: str | None = None,
    max_folds: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> AblationResult:
    """Train and LOSO-evaluate every cell under every seed; write Markdown, CSV, JSON and a plot.

    Args:
        config: the base `TrainConfig` (data, input, epochs, ...).
        out_dir: the report folder (replaced atomically at the end).
        samples: default `load_samples(config)`.
        cells: a subset of `CELLS` ids (default: all).
        seeds: seeds to run every cell with (default: `config.seed` only).
            A seed fixes the validation draw of every fold and the weights'
            initialization, shared by all cells: comparisons are paired.
        use_ray: False runs inline.
        address: a Ray cluster; None = local Ray with 2 CPUs.
        max_folds: only the first N LOSO folds (quick looks; labelled partial).
        progress: tqdm bars.
        overwrite: replace `out_dir` even when mer-tf did not write it (`mer_tf.outputs`).
    """
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.training.ablation_report import write_ablation
    from mer_tf.training.ray_runner import run_tasks

    out_dir = Path(out_dir)
    wanted = list(cells) if cells else [c for c, _ in CELLS]
    unknown = set(wanted) - {c for c, _ in CELLS}
    if unknown:
        raise ValueError(f"Unknown ablation cells {sorted(unknown)}; choose from {[c for c, _ in CELLS]}.")
    seeds = [int(x) for x in (seeds if seeds else [config.seed])]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"`seeds` must be distinct. Received: seeds={seeds}")
    work_root = out_dir.with_name(out_dir.name + ".work")
    inputs = {"dataset": config.data}
    prepare_outputs(out_dir, "ablation", work_root, inputs, overwrite)
    samples = list(samples) if samples is not None else load_samples(config)
    FeatureStore(config.input_spec(), config.cache_dir).ensure(samples, progress=progress)
    tasks, owners = [], []
    n_folds = 0
    for seed in seeds:
        folds = make_folds(replace(config, seed=seed), samples, max_folds)
        n_folds = len(folds)
        for cell_id, settings in CELLS:
            if cell_id not in wanted:
                continue
            cell_cfg = cell_config(config, cell_id, settings, seed)
            for i, fold in enumerate(folds):
                tasks.append({"config": cell_cfg.to_dict(), "fold": fold,
                              "work_dir": str(work_root / cell_id / f"seed-{seed}" / f"fold-{i:03d}")})
                owners.append((cell_id, seed))
    results = run_tasks(run_fold, tasks, use_ray=use_ray, address=address, desc="ablation cells x seeds x folds",
                        progress=progress)
    per_run: dict[tuple, dict] = {}
    for owner, res in zip(owners, results):
        run = per_run.setdefault(owner, {"rows": [], "val_rows": [], "timings": [], "epochs": [], "fit_seconds": 0.0})
        run["rows"] += res["rows"]
        run["val_rows"] += res.get("val_rows", [])
        run["timings"].append(res["timing"])
        run["epochs"].append(res["epochs_run"])
        run["fit_seconds"] += res["fit_seconds"]
    for run in per_run.values():
        run["scores"] = score_rows(run["rows"], config.class_names)
        run["validation"] = score_rows(run["val_rows"], config.class_names) if run["val_rows"] else {}
        run["timing"] = merge_timing(run["timings"])
    table = table_rows(per_run, seeds)
    meta = {
        "config": config.to_dict(),
        "synthetic": config.dataset == "synthetic",
        "folds_run": n_folds,
        "partial": bool(max_folds),
        "subjects": sorted({s.subject for s in samples}),
        "n_samples": len(samples),
        "seeds": seeds,
        "paired": paired_differences(per_run, seeds),
    }
    paths = write_ablation(out_dir, table, per_run, meta, PREDICTION_COLUMNS, overwrite=overwrite, inputs=inputs)
    shutil.rmtree(work_root, ignore_errors=True)
    return AblationResult(out_dir, paths, table)


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    import numpy as np

    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def table_rows(per_run: dict, seeds: Sequence[int]) -> list[dict]:
    """One row per (table, architecture): mean and sd over seeds of accuracy, UF1, UAR; slices per source."""
    table = []
    for tab, label, cell_id, column in TABLES:
        runs = [per_run[(cell_id, seed)] for seed in seeds if (cell_id, seed) in per_run]
        runs = [r for r in runs if column in r["scores"]]
        if not runs:
            continue
        row = {"table": tab, "architecture": label, "cell": cell_id, "column": column, "seeds": len(runs)}
        for key in ("accuracy", "uf1", "uar"):
            row[key], row[f"{key}_sd"] = _mean_sd([r["scores"][column]["all"][key] for r in runs])
        vals = [r["validation"][column]["all"]["uf1"] for r in runs if column in r["validation"]]
        row["val_uf1"] = _mean_sd(vals)[0] if vals else float("nan")
        for part in sorted({p for r in runs for p in r["scores"][column] if p != "all"}):
            row[f"uf1_{part}"] = _mean_sd([r["scores"][column][part]["uf1"] for r in runs if part in r["scores"][column]])[0]
        t = [r["timing"] for r in runs]
        extra = (lambda x: x.get("ecrl", 0.0) + x.get("fusion", 0.0)) if column == "fused" else (lambda x: 0.0)
        row["ms_per_sample"] = sorted(x.get("cnn", float("nan")) + extra(x) for x in t)[len(t) // 2]
        row["n"] = runs[0]["scores"][column]["all"]["n"]
        epochs = [e for r in runs for e in r["epochs"]]
        row["median_epochs"] = sorted(epochs)[len(epochs) // 2]
        row["train_minutes"] = sum(r["fit_seconds"] for r in runs) / 60
        table.append(row)
    return table


# (question, cell A, column A, cell B, column B): A - B on the same folds and seeds
PAIRS = (
    ("local region layer: with - without", "eccnn_pool3", "cnn", "eccnn_no_local_region", "cnn"),
    ("pooling: 1 - 3 layers", "eccnn_pool1", "cnn", "eccnn_pool3", "cnn"),
    ("pooling: 2 - 3 layers", "eccnn_pool2", "cnn", "eccnn_pool3", "cnn"),
    ("ECRL: ECCNN + ECRL - ECCNN", "eccnn_pool3", "fused", "eccnn_pool3", "cnn"),
    ("peer: ECCNN - STSTNet", "eccnn_pool3", "cnn", "ststnet", "cnn"),
    # the paper's Table 3: how the baselines rank against ECCNN
    ("baseline: ECCNN - DRML", "eccnn_pool3", "cnn", "drml", "cnn"),
    ("baseline: ECCNN - AlexNet", "eccnn_pool3", "cnn", "alexnet", "cnn"),
    ("baseline: ECCNN - ConvNet", "eccnn_pool3", "cnn", "convnet", "cnn"),
    ("baseline: ECCNN - LCN", "eccnn_pool3", "cnn", "lcn", "cnn"),
)


def paired_differences(per_run: dict, seeds: Sequence[int]) -> list[dict]:
    """UF1 and UAR differences of the PAIRS, seed by seed (same folds, same seeds)."""
    out = []
    for question, a, col_a, b, col_b in PAIRS:
        common = [s for s in seeds if (a, s) in per_run and (b, s) in per_run
                  and col_a in per_run[(a, s)]["scores"] and col_b in per_run[(b, s)]["scores"]]
        if not common:
            continue
        entry = {"question": question, "seeds": common}
        for key in ("uf1", "uar"):
            diffs = [per_run[(a, s)]["scores"][col_a]["all"][key] - per_run[(b, s)]["scores"][col_b]["all"][key]
                     for s in common]
            entry[key], entry[f"{key}_sd"] = _mean_sd(diffs)
            entry[f"{key}_per_seed"] = diffs
        out.append(entry)
    return out
