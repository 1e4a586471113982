"""`train(config, out_dir)`: one model folder from a dataset (the `mer train` library call)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mer_tf.atomic import atomic_folder
from mer_tf.model_folder import FILES as FOLDER_FILES, ModelFolder
from mer_tf.training.config import TrainConfig
from mer_tf.training.fit import configure_tensorflow, fit_model
from mer_tf.training.plots_and_tables import plot_history, write_json
from mer_tf.training.predictions import calibrate_ecrl, predict_rows, score_rows
from mer_tf.training.samples import load_samples, split_validation

log = logging.getLogger(__name__)

MODEL_FILES = (*FOLDER_FILES, "metrics.json")


@dataclass
class TrainResult:
    """What `train` wrote and measured.

    Attributes:
        model_dir: the model folder.
        paths: artifact name -> path (model.keras, config.json, ..., curves.png).
        metrics: the content of metrics.json.
        history: Keras history (per-epoch loss/accuracy, val_*).
    """

    model_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)


def work_dir_for(out_dir: Path) -> Path:
    """Backups, best checkpoint and TensorBoard logs live beside the model folder."""
    return out_dir.with_name(out_dir.name + ".work")


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    samples: Sequence | None = None,
    callbacks: Sequence | None = None,
    progress: bool = True,
    keep_work_dir: bool = True,
    overwrite: bool = False,
) -> TrainResult:
    """Train on all subjects but `config.val_subjects` held out for model choice.

    Args:
        config: the resolved `TrainConfig`.
        out_dir: the model folder to write (replaced atomically at the end).
        samples: the samples to use (default: `load_samples(config)`).
        callbacks: extra Keras callbacks.
        progress: tqdm bars while features are computed.
        keep_work_dir: keep `<out_dir>.work` (TensorBoard logs, best checkpoint).
        overwrite: replace `out_dir` even when it holds files mer-tf did not
            write (see `mer_tf.outputs`); never when it is or holds the dataset.

    Returns:
        A `TrainResult` naming every artifact written.

    A run killed part-way resumes from `<out_dir>.work/backup` when started
    again with the same config and output folder (Keras BackupAndRestore).
    """
    from mer_tf.data.feature_store import FeatureStore

    from mer_tf.outputs import check_outputs

    out_dir = Path(out_dir)
    work_dir = work_dir_for(out_dir)
    inputs = {"dataset": config.data}
    # Before anything is loaded: a wrong --out costs a second, not a finished run.
    check_outputs({"model folder": (out_dir, "model"), "work folder": (work_dir, "work")}, inputs=inputs,
                  overwrite=overwrite)
    configure_tensorflow(config.threads, config.seed)
    samples = list(samples) if samples is not None else load_samples(config)
    if config.test_subjects:
        unknown = sorted(set(config.test_subjects) - {s.subject for s in samples})
        if unknown:
            raise ValueError(f"test subjects {unknown} are not in {config.data}; its subjects: "
                             f"{sorted({s.subject for s in samples})[:12]}... Fix --test-subjects.")
        samples = [s for s in samples if s.subject not in set(config.test_subjects)]
    train_s, val_s = split_validation(samples, config.val_subjects, config.seed, config.loso_group_by)
    log.info("training on %d samples (%d subjects), validating on %d (%d subjects)",
             len(train_s), len({s.subject for s in train_s}), len(val_s), len({s.subject for s in val_s}))  # fmt: skip
    spec = config.input_spec()
    store = FeatureStore(spec, config.cache_dir)
    feats = dict(zip((s.key for s in samples), store.load_all(samples, progress=progress)))
    model, history = fit_model(config, train_s, val_s, store, work_dir, callbacks=callbacks)

    # Calibrated on the training subjects only: the validation scores below are then not scored on
    # the samples the thresholds were fitted to.
    ecrl = calibrate_ecrl(train_s, [feats[s.key] for s in train_s], config.class_scheme) if config.ecrl else None
    classes = config.class_names
    metrics = {
        "synthetic": config.dataset == "synthetic",
        "classes": list(classes),
        "n_train": len(train_s),
        "n_val": len(val_s),
        "epochs_run": history["epochs_run"],
        "resumed_at_epoch": history.get("resumed_at", 0),
        "ecrl_calibrated_on": "training subjects" if config.ecrl else None,
        "final": {k: v[-1] for k, v in history.items() if isinstance(v, list) and v and k != "members"},
        "note": f"{config.training_rule}; these scores are not a test result (use `mer loso`).",
    }
    if val_s:
        rows, timing = predict_rows(model, val_s, [feats[s.key] for s in val_s], classes, config.class_scheme, ecrl)
        metrics["validation"] = score_rows(rows, classes)
        metrics["ms_per_sample"] = timing

    resolved = config.to_dict()
    resolved["run"] = {
        "train_subjects": sorted({s.subject for s in train_s}),
        "val_subjects": sorted({s.subject for s in val_s}),
        **({"test_subjects": sorted(config.test_subjects)} if config.test_subjects else {}),
        "n_samples": len(samples),
    }
    paths: dict[str, Path] = {}
    with atomic_folder(out_dir, "model", overwrite=overwrite, inputs=inputs) as tmp:
        ModelFolder.save(tmp, model=model, config=resolved, classes=classes, scheme=config.class_scheme, spec=spec,
                         ecrl=ecrl)
        write_json(tmp / "metrics.json", metrics)
        write_json(tmp / "history.json", history)
        plot_history(tmp / "curves.png", history, f"{config.model} on {config.dataset} ({config.input_name})")
    for name in (*MODEL_FILES, "history.json", "curves.png"):
        if (out_dir / name).exists():
            paths[name] = out_dir / name
    if not keep_work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    elif (work_dir / "tensorboard").exists():
        paths["tensorboard"] = work_dir / "tensorboard"
    return TrainResult(out_dir, paths, metrics, history)

