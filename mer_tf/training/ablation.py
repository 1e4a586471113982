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
from mer_tf.training.evaluation import PREDICTION_COLUMNS, score_rows
from mer_tf.training.loso import make_folds, merge_timing, run_fold
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
)


@dataclass
class AblationResult:
    """What `run_ablation` wrote: the table rows and the artifact paths."""

    out_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def run_ablation(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    samples: Sequence | None = None,
    cells: Sequence[str] | None = None,
    use_ray: bool = True,
    address: str | None = None,
    max_folds: int | None = None,
    progress: bool = True,
) -> AblationResult:
    """Train and LOSO-evaluate every cell; write Markdown, CSV, JSON and a plot.

    Args:
        config: the base `TrainConfig` (data, input, epochs, ...).
        out_dir: the report folder (replaced atomically at the end).
        samples: default `load_samples(config)`.
        cells: a subset of `CELLS` ids (default: all).
        use_ray: False runs inline.
        address: a Ray cluster; None = local Ray with 2 CPUs.
        max_folds: only the first N LOSO folds (quick looks; labelled partial).
        progress: tqdm bars.
    """
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.training.ablation_report import write_ablation
    from mer_tf.training.ray_runner import run_tasks

    out_dir = Path(out_dir)
    wanted = list(cells) if cells else [c for c, _ in CELLS]
    unknown = set(wanted) - {c for c, _ in CELLS}
    if unknown:
        raise ValueError(f"Unknown ablation cells {sorted(unknown)}; choose from {[c for c, _ in CELLS]}.")
    samples = list(samples) if samples is not None else load_samples(config)
    FeatureStore(config.input_spec(), config.cache_dir).ensure(samples, progress=progress)
    folds = make_folds(config, samples, max_folds)
    work_root = out_dir.with_name(out_dir.name + ".work")
    tasks, owners = [], []
    for cell_id, settings in CELLS:
        if cell_id not in wanted:
            continue
        cell_cfg = replace(config, **settings, ecrl=(cell_id == "eccnn_pool3" and config.ecrl))
        for i, fold in enumerate(folds):
            tasks.append({"config": cell_cfg.to_dict(), "fold": fold, "work_dir": str(work_root / cell_id / f"fold-{i:03d}")})
            owners.append(cell_id)
    results = run_tasks(run_fold, tasks, use_ray=use_ray, address=address, desc="ablation cells x folds", progress=progress)
    per_cell: dict[str, dict] = {}
    for cell_id, res in zip(owners, results):
        cell = per_cell.setdefault(cell_id, {"rows": [], "timings": [], "epochs": [], "fit_seconds": 0.0})
        cell["rows"] += res["rows"]
        cell["timings"].append(res["timing"])
        cell["epochs"].append(res["epochs_run"])
        cell["fit_seconds"] += res["fit_seconds"]
    for cell in per_cell.values():
        cell["scores"] = score_rows(cell["rows"], config.class_names)
        cell["timing"] = merge_timing(cell["timings"])
    table = []
    for tab, label, cell_id, column in TABLES:
        if cell_id not in per_cell or column not in per_cell[cell_id]["scores"]:
            continue
        cell = per_cell[cell_id]
        s = cell["scores"][column]["all"]
        t = cell["timing"]
        ms = t.get("cnn", float("nan")) + (t.get("ecrl", 0.0) + t.get("fusion", 0.0) if column == "fused" else 0.0)
        table.append(
            {
                "table": tab, "architecture": label, "cell": cell_id, "column": column,
                "accuracy": s["accuracy"], "uf1": s["uf1"], "uar": s["uar"], "ms_per_sample": ms,
                "n": s["n"], "median_epochs": sorted(cell["epochs"])[len(cell["epochs"]) // 2],
                "train_minutes": cell["fit_seconds"] / 60,
            }
        )  # fmt: skip
    meta = {
        "config": config.to_dict(),
        "synthetic": config.dataset == "synthetic",
        "folds_run": len(folds),
        "partial": bool(max_folds),
        "subjects": sorted({s.subject for s in samples}),
        "n_samples": len(samples),
    }
    paths = write_ablation(out_dir, table, per_cell, meta, PREDICTION_COLUMNS)
    shutil.rmtree(work_root, ignore_errors=True)
    return AblationResult(out_dir, paths, table)
