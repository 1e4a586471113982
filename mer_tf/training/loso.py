"""Leave-one-subject-out evaluation of CNN, ECRL and fused (the `mer loso` library call)."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mer_tf.training.config import TrainConfig
from mer_tf.training.predictions import policy_scores, score_rows
from mer_tf.training.samples import load_samples

log = logging.getLogger(__name__)


@dataclass
class LosoResult:
    """What `run_loso` wrote and measured.

    Attributes:
        out_dir: the report folder.
        paths: artifact name -> path (predictions.csv, scores.json, confusion PNGs).
        scores: {"cnn"|"ecrl"|"fused": {"all"|dataset: pooled scores}}.
        ms_per_sample: stage -> median milliseconds per sample.
        folds: per-fold summaries (test subject, sizes, epochs run).
        validation: the same scores on every fold's validation subjects,
            pooled (choose settings on these, never on `scores`).
        policies: {"test"|"validation": {policy: {"table", "scores"}}}: the
            fused label under each fusion policy.
        selection: {"subjects", "scores"} from subjects the fit never saw
            (`selection_scores`); {} when there are none.
    """

    out_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    ms_per_sample: dict = field(default_factory=dict)
    folds: list = field(default_factory=list)
    validation: dict = field(default_factory=dict)
    policies: dict = field(default_factory=dict)
    selection: dict = field(default_factory=dict)


def run_fold(config: dict, fold: dict, work_dir: str) -> dict:
    """Train on one fold's training subjects, predict its test subject.

    A Ray task (module-level, plain arguments). Early stopping and the
    checkpoint use the fold's validation subjects; ECRL is calibrated on the
    fold's training + validation subjects; the test subject is only predicted.
    The validation subjects are predicted too ("val_rows"): pooled over the
    folds they score a configuration without touching any test subject, which
    is how settings are chosen (see `run_loso`'s scores["validation"]).
    """
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.training.predictions import calibrate_ecrl, fusion_policy, predict_rows
    from mer_tf.training.fit import configure_tensorflow, env_threads, fit_model

    cfg = TrainConfig.from_dict(config)
    _normal_priority()
    configure_tensorflow(min(cfg.threads, env_threads()), cfg.seed)
    train, val, test = fold["train"], fold["val"], fold["test"]
    store = FeatureStore(cfg.input_spec(), cfg.cache_dir)
    score = list(fold.get("score") or [])
    feats = {}  # each sample's cached features, read once per fold

    def features(samples):
        out = []
        for s in samples:
            key = store.path(s)
            if key not in feats:
                feats[key] = store.load(s)
            out.append(feats[key])
        return out

    trace = _test_trace(np.stack([f.image for f in features(test)]).astype(np.float32),
                        cfg.image_kind if cfg.flip_average else None) if fold.get("trace_epochs") else None
    t0 = time.perf_counter()
    model, history = fit_model(cfg, train, val, store, Path(work_dir), light=True,
                               callbacks=[trace] if trace is not None else None)
    fit_s = time.perf_counter() - t0
    ecrl = None
    if cfg.ecrl:
        ecrl = calibrate_ecrl(train + val, features(train + val), cfg.class_scheme)
    policy = fusion_policy(cfg.fusion, cfg.class_scheme) if ecrl is not None else None
    rows, timing = predict_rows(model, test, features(test), cfg.class_names, cfg.class_scheme, ecrl, policy)
    val_rows = []
    if val:
        val_rows, _ = predict_rows(model, val, features(val), cfg.class_names, cfg.class_scheme, ecrl, policy)
    score_rows_ = []
    if score:  # never fitted on, not even for early stopping: an unbiased selection score
        score_rows_, _ = predict_rows(model, score, features(score), cfg.class_names, cfg.class_scheme, ecrl, policy)
    readers = _same_fit_readers(model, cfg)
    if readers:
        for samples, part in ((test, rows), (val, val_rows), (score, score_rows_)):
            _add_readings(readers, samples, features(samples), part, cfg.class_names)
    for r in rows + val_rows + score_rows_:
        r["fold"] = fold["name"]
    shutil.rmtree(work_dir, ignore_errors=True)  # backups/checkpoints of a finished fold
    return {
        "name": fold["name"],
        "rows": rows,
        "val_rows": val_rows,
        "score_rows": score_rows_,
        "timing": timing,
        "epochs_run": history["epochs_run"],
        "fit_seconds": round(fit_s, 2),
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test),
        "val_subjects": sorted({s.subject for s in val}),
        "score_subjects": sorted({s.subject for s in fold.get("score", [])}),
        **({"epoch_trace": trace.predicted} if trace is not None else {}),
    }


def _same_fit_readers(model, cfg: TrainConfig) -> dict:
    """The paired, same-weights readings a report adds beside `cnn`, as column -> model.

    `cnn_single` (flip_average): the same fit without the mirror image.
    `cnn_first` (ensemble): member 0 alone, through the mirror when the run
    uses it; member 0 is the single fit of the run's seed, so this is the
    one-fit reading of the same split.
    """
    from mer_tf.models import flip_average
    from mer_tf.models.ensemble import members_of
    from mer_tf.models.flip_average import unwrap

    readers = {}
    if cfg.flip_average:
        readers["cnn_single"] = unwrap(model)
    if cfg.ensemble > 1:
        first = members_of(model)[0]
        readers["cnn_first"] = flip_average(first, cfg.image_kind) if cfg.flip_average else first
    return readers


def _add_readings(readers: dict, samples, feats, rows: list[dict], classes) -> None:
    """Each row's column of every reader (column -> a model on the same inputs): the class it gives."""
    if not rows:
        return
    images = np.stack([f.image for f in feats]).astype(np.float32)
    for column, reader in readers.items():
        logp = np.asarray(reader.predict(images, batch_size=64, verbose=0))
        for r, s, lp in zip(rows, samples, logp):
            if r["sample"] != s.sample_id:
                raise RuntimeError(f"prediction rows out of order: row {r['sample']!r} against sample "
                                   f"{s.sample_id!r}")
            r[column] = classes[int(np.argmax(lp))]


def _test_trace(images: np.ndarray, mirror_mode: str | None = None):
    """A Keras callback keeping the test subject's predicted class after every epoch.

    For `run_loso(trace_epochs=True)` only: it reads what choosing each fold's
    epoch on its own test subject would report (`mer_tf.epoch_trace`). It
    never changes the fit, and nothing is chosen with it. `mirror_mode` (the
    input mode, with `flip_average`): each epoch is read through the same
    mirror-averaging wrapper as the report, sharing the fit's weights.
    """
    import keras

    class TestTrace(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.predicted: list[list[int]] = []
            self.reader = None

        def on_train_begin(self, logs=None):
            if mirror_mode is None:
                self.reader = self.model
            else:
                from mer_tf.models import flip_average

                self.reader = flip_average(self.model, mirror_mode)

        def on_epoch_end(self, epoch, logs=None):
            # predicted as the report predicts (`predictions.predict_rows`: model.predict, batch 64), so the
            # last epoch's classes are the report's; the CI failure once blamed on a near-tie was a test bug
            # (it keyed rows by sample id, which repeats across subjects; fixed in tests/test_epoch_trace.py)
            logp = np.asarray(self.reader.predict(images, batch_size=64, verbose=0))
            self.predicted.append(logp.argmax(axis=1).astype(int).tolist())

    return TestTrace()


def _normal_priority() -> None:
    """Undo Ray's low worker priority (nice 15) for this task's process.

    On a machine shared with other jobs a niced fold got ~15 % of a core and
    the grid took hours; the task already bounds itself to one TF thread.
    """
    import os

    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    except (OSError, AttributeError):  # not permitted (non-root) or not POSIX: keep it
        pass


def make_folds(config: TrainConfig, samples: Sequence, max_folds: int | None = None) -> list[dict]:
    """The LOSO folds as plain dicts (picklable task arguments)."""
    from mer_tf.datasets import loso_splits

    folds = []
    for f in loso_splits(samples, n_val_subjects=config.val_subjects, seed=config.seed, group_by=config.loso_group_by,
                         n_score_subjects=config.score_subjects):
        folds.append({"name": f.test_subject, "train": list(f.train), "val": list(f.val), "test": list(f.test),
                      "score": list(f.score)})
    if max_folds:
        folds = folds[: int(max_folds)]
    return folds


def prepare_outputs(out_dir: Path, kind: str, work_root: Path, inputs: dict, overwrite: bool) -> None:
    """Check the report folder and the work folder before any work; mark the work folder as ours."""
    from mer_tf.outputs import check_outputs, write_marker

    check_outputs({"report folder": (out_dir, kind), "work folder": (work_root, "work")}, inputs=inputs,
                  overwrite=overwrite)
    work_root.mkdir(parents=True, exist_ok=True)
    write_marker(work_root, "work")


def selection_scores(patience: int, validation: dict, score: dict) -> dict:
    """The pooled scores settings are chosen by, and which subjects gave them.

    Subjects that early stopping looked at score the run too well (the epoch
    kept is the one they liked best), so the selection score comes from
    subjects the fit never saw: the score subjects when there are any, else
    the validation subjects when nothing was fitted on them (patience 0).
    An early-stopped run without score subjects has none: its validation
    scores only compare with other early-stopped runs.
    """
    if score:
        return {"subjects": "score", "scores": score}
    if validation and patience == 0:
        return {"subjects": "validation (not used to fit: patience 0)", "scores": validation}
    return {}


def merge_timing(timings: Sequence[dict]) -> dict:
    """Median over folds of each stage's per-sample milliseconds."""
    stages = sorted({k for t in timings for k in t})
    return {k: float(np.nanmedian([t[k] for t in timings if k in t])) for k in stages}


def run_loso(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    samples: Sequence | None = None,
    use_ray: bool = True,
    address: str | None = None,
    max_folds: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    trace_epochs: bool = False,
) -> LosoResult:
    """Leave-one-subject-out: one Ray task per fold, predictions pooled, then scored.

    Args:
        config: the `TrainConfig` (model, input, epochs, ...).
        out_dir: the report folder (replaced atomically at the end).
        samples: default `load_samples(config)`.
        use_ray: False runs the folds inline.
        address: a Ray cluster; None = local Ray with 2 CPUs.
        max_folds: run only the first N folds (quick looks; the report says so).
        progress: tqdm bars.
        overwrite: replace `out_dir` even when mer-tf did not write it (`mer_tf.outputs`).
        trace_epochs: also predict each fold's test subject after every epoch and
            write `epoch_trace.json` (`mer_tf.epoch_trace` reads it): what a
            protocol that picks each fold's epoch on its test subject would
            report. An analysis of published protocols; it changes no score.

    Returns:
        A `LosoResult` with the pooled scores and the artifact paths.
    """
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.training.ray_runner import run_tasks
    from mer_tf.training.evaluation_report import write_evaluation

    if trace_epochs and config.ensemble > 1:
        raise ValueError("--trace-epochs reads one fit's epochs, and an ensemble averages several fits. Received: "
                         f"ensemble={config.ensemble}; trace with ensemble 1 (--ensemble 1).")
    if trace_epochs and config.weight_average:
        raise ValueError("--trace-epochs reads each epoch's own weights, and with weight_average the kept model is a "
                         f"mean that no epoch has. Received: weight_average={config.weight_average}; trace with "
                         "weight_average 0 (--weight-average 0).")
    out_dir = Path(out_dir)
    work_root = out_dir.with_name(out_dir.name + ".work")
    inputs = {"dataset": config.data}
    prepare_outputs(out_dir, "loso", work_root, inputs, overwrite)
    samples = list(samples) if samples is not None else load_samples(config)
    FeatureStore(config.input_spec(), config.cache_dir).ensure(samples, progress=progress)
    folds = make_folds(config, samples, max_folds)
    if trace_epochs:
        folds = [{**f, "trace_epochs": True} for f in folds]
    tasks = [{"config": config.to_dict(), "fold": f, "work_dir": str(work_root / f"fold-{i:03d}")} for i, f in enumerate(folds)]
    results = run_tasks(run_fold, tasks, use_ray=use_ray, address=address, desc="LOSO folds", progress=progress)
    rows = [r for res in results for r in res["rows"]]
    timing = merge_timing([res["timing"] for res in results])
    val_rows = [r for res in results for r in res.get("val_rows", [])]
    score_rows_ = [r for res in results for r in res.get("score_rows", [])]
    summaries = [{k: v for k, v in res.items() if k not in ("rows", "val_rows", "score_rows", "timing", "epoch_trace")}
                 for res in results]
    extra = {}
    if trace_epochs:
        from mer_tf.epoch_trace import make_trace

        extra["epoch_trace.json"] = make_trace(config.class_names, results)
    scores = score_rows(rows, config.class_names)
    # the validation subjects of every fold, pooled: for choosing settings, never the test folds
    validation = score_rows(val_rows, config.class_names) if val_rows else {}
    selection = selection_scores(config.patience, validation, score_rows(score_rows_, config.class_names) if score_rows_ else {})
    policies = {}
    if config.ecrl:
        names = ("paper", "check") if config.class_scheme == "megc3" else ("paper", "check_all")
        policies = {"test": policy_scores(rows, config.class_names, config.class_scheme, names)}
        if val_rows:
            policies["validation"] = policy_scores(val_rows, config.class_names, config.class_scheme, names)
    meta = {
        "config": config.to_dict(),
        "synthetic": config.dataset == "synthetic",
        "folds_run": len(folds),
        "partial": bool(max_folds),
        "protocol": f"leave-one-{config.loso_group_by}-out; {config.training_rule}",
        "folds": summaries,
        "validation_scores": validation,
        "selection": selection,
        "fusion_policies": policies,
    }
    paths = write_evaluation(out_dir, rows, scores, timing, config.class_names, meta,
                             title=f"LOSO {config.model} ({config.input_name})", val_rows=val_rows,
                             kind="loso", overwrite=overwrite, inputs=inputs, extra_json=extra)
    shutil.rmtree(work_root, ignore_errors=True)
    return LosoResult(out_dir, paths, scores, timing, summaries, validation, policies, selection)
