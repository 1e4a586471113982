"""Keras fit with the callbacks of an honest, resumable run."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mer_tf.training.config import TrainConfig
from mer_tf.training.samples import label_indices

log = logging.getLogger(__name__)


def configure_tensorflow(threads: int, seed: int) -> None:
    """Bound TensorFlow's threads (a shared 2-core box) and seed everything."""
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
    except RuntimeError:  # the runtime is already up in this process: keep its setting
        log.debug("TensorFlow threads already fixed for this process")
    keras.utils.set_random_seed(int(seed))


def build(config: TrainConfig, input_shape: tuple[int, int, int], steps_per_execution: int = 1):
    """The compiled Keras model of `config` (log-probability output, NLL loss).

    `steps_per_execution` > 1 runs that many batches per call into the graph:
    on small models Keras' per-step Python overhead dominates (LOSO folds).
    """
    import keras

    from mer_tf.models import build_model, nll_loss

    kwargs = {"dropout": config.dropout}
    if config.model == "eccnn":
        kwargs.update(pooling_layers=config.pooling, local_region=config.local_region)
        if config.filters:
            kwargs["filters"] = config.filters
    model = build_model(config.model, input_shape=input_shape, num_classes=len(config.class_names), **kwargs)
    # Soft training targets (label smoothing, mixup) are (B, C) distributions; the
    # validation labels are then one-hot, so one accuracy metric reads both.
    accuracy = keras.metrics.CategoricalAccuracy if config.soft_targets else keras.metrics.SparseCategoricalAccuracy
    model.compile(
        optimizer=_optimizer(config),
        loss=nll_loss,
        metrics=[accuracy(name="accuracy")],
        steps_per_execution=steps_per_execution,
    )
    return model


# Variables never decayed: Keras searches each variable's name ("kernel", "bias", ...) for these patterns.
_NOT_DECAYED = ["bias", "gamma", "beta", "moving_mean", "moving_variance"]


def _optimizer(config: TrainConfig):
    """Adam, or AdamW-style Adam when `config.weight_decay` > 0 (kernels only).

    Keras decays a variable by `variable * weight_decay * lr` per step, with
    the current (scheduled) rate. Biases and batch-normalization scales and
    offsets keep their values, as in common AdamW practice.
    """
    import keras

    if not config.weight_decay:
        return keras.optimizers.Adam(config.learning_rate)
    optimizer = keras.optimizers.Adam(config.learning_rate, weight_decay=float(config.weight_decay))
    optimizer.exclude_from_weight_decay(var_names=_NOT_DECAYED)
    return optimizer


# This process's light models: key -> (model, its initial state). See `reusable_model`.
_REUSABLE: dict = {}
_REUSABLE_MAX = 4  # the members of one ensemble fit side by side; older configs make way


def reusable_model(config: TrainConfig, input_shape: tuple, steps_per_execution: int):
    """The compiled model of `config`, reset to its freshly built state; built once per process.

    A LOSO worker trains the same config on fold after fold. Building and
    compiling anew costs the first epoch its graph tracing (about 5 s of a
    25 s fold at 28 px); here the traced train/test functions are kept and
    every variable is put back as the first build left it: the weights,
    the optimizer's slots and step counter (built up front so they exist),
    and the dropout layers' seed states. A reused model therefore starts
    every fold exactly as a fresh build with the same seed does (a test
    checks the histories match), whatever folds the worker ran before.
    A few configs are kept at once (the members of an ensemble differ in
    their seed alone), the oldest making way for a new one.
    """
    import json

    key = json.dumps([config.to_dict(), list(input_shape), int(steps_per_execution)], sort_keys=True, default=str)
    if key in _REUSABLE:
        model, initial = _REUSABLE[key]
        for var, value in zip(_state_variables(model), initial):
            var.assign(value)
        return model
    model = build(config, input_shape, steps_per_execution=steps_per_execution)
    model.optimizer.build(model.trainable_variables)
    while len(_REUSABLE) >= _REUSABLE_MAX:
        _REUSABLE.pop(next(iter(_REUSABLE)))
    _REUSABLE[key] = (model, [v.numpy() for v in _state_variables(model)])
    return model


def _lr_schedule(config: TrainConfig) -> list:
    """The learning-rate callback of `config.lr_schedule` ([] for a constant rate).

    "cosine": epoch e of E runs at lr * (1 + cos(pi * e / E)) / 2, so the last
    epochs take small steps and the kept (last) weights settle instead of
    landing wherever the final full-size step left them. Set per epoch, not
    per step: the rate depends on the epoch count alone, so every fold of a
    LOSO (whatever its sample count) runs the same schedule on one reused model.
    """
    if config.lr_schedule == "constant":
        return []
    import math

    import keras

    base, total = float(config.learning_rate), int(config.epochs)
    return [keras.callbacks.LearningRateScheduler(lambda e: base * 0.5 * (1.0 + math.cos(math.pi * e / total)))]


def _weight_average(config: TrainConfig, state_path: Path | None) -> list:
    """The callback that keeps the mean of the last `config.weight_average` epochs' weights ([] when off)."""
    if not config.weight_average:
        return []
    from mer_tf.training.weight_average import weight_average_callback

    return [weight_average_callback(config.epochs, config.weight_average, state_path)]


def _state_variables(model) -> list:
    """Every variable a fit changes: weights, seed states and the optimizer's variables."""
    return list(model.variables) + list(model.optimizer.variables)


def fit_model(
    config: TrainConfig,
    train_samples: Sequence,
    val_samples: Sequence,
    store,
    work_dir: str | Path,
    callbacks: Sequence | None = None,
    verbose: int = 0,
    light: bool = False,
):
    """Train one model; any early stopping and checkpoint choice on `val_samples` only.

    Args:
        config: the settings.
        train_samples: samples the weights learn from.
        val_samples: held-out training-fold subjects (never a test subject);
            empty: no early stopping, the last epoch is kept.
        store: the `FeatureStore` holding the cached features.
        work_dir: backups (BackupAndRestore: a killed run resumes here),
            the best checkpoint and TensorBoard logs.
        callbacks: extra Keras callbacks (run after the built-in ones).
        verbose: Keras fit verbosity.
        light: a LOSO fold: the best validation weights are kept in memory
            (EarlyStopping(restore_best_weights=True)), with no backup,
            checkpoint file or TensorBoard log, and several steps per
            execution. Same epochs, same selection rule, a fraction of the I/O.

    Returns:
        (model, history dict). The model holds the best validation weights
        under early stopping, and the last epoch's weights with patience 0
        (the mean of the last `config.weight_average` epochs' when set); with
        `config.ensemble` K > 1 it averages K such fits (`_fit_ensemble`); with
        `config.flip_average` it comes wrapped (`flip_average`).

    After a resume, Keras restores the weights and the epoch counter but not
    the callbacks' memory: the best-so-far validation loss and the
    early-stopping patience start afresh from the resumed epoch. Keras's
    history has only the epochs after the resume; the returned history has
    every epoch (each one is logged to `work_dir/epochs.json` as it ends), and
    `resumed_at` says where the resume happened (0: none).
    """
    import keras
    import tensorflow as tf

    from mer_tf.data.tf_dataset import Augmentation, SoftTargets, class_weights, make_dataset

    if int(config.ensemble) > 1:
        return _fit_ensemble(config, train_samples, val_samples, store, work_dir, callbacks, verbose, light)
    work_dir = Path(work_dir)
    if not light:
        _claim_work_dir(work_dir, config, train_samples, val_samples)
    classes, scheme = config.class_names, config.class_scheme
    y_train = label_indices(train_samples, classes, scheme)
    aug = (
        Augmentation(max_rotation_deg=config.aug_rotation, max_shift=config.aug_shift)
        if config.augment
        else Augmentation.none()
    )
    weights = class_weights(y_train, len(classes), float(config.class_weight_power)) if config.class_weights else None
    soft = None
    if config.soft_targets:  # the class weights then travel with the batches, as per-sample weights
        soft = SoftTargets(len(classes), float(config.label_smoothing), float(config.mixup),
                           tuple(weights[c] for c in range(len(classes))) if weights else None)
    train_ds = make_dataset(
        [store.path(s) for s in train_samples],
        y_train,
        batch_size=config.batch_size,
        mode=config.image_kind,
        training=True,
        augmentation=aug,
        seed=config.seed,
        soft=soft,
    )
    val_ds = None
    if val_samples:
        y_val = label_indices(val_samples, classes, scheme)
        val_ds = make_dataset([store.path(s) for s in val_samples], y_val, batch_size=64, mode=config.image_kind)
        if soft is not None:  # one-hot, not smoothed: the validation loss stays the plain NLL
            val_ds = val_ds.map(lambda x, y: (x, tf.one_hot(y, len(classes))))
    if config.steps_per_epoch:
        train_ds = train_ds.repeat()  # a capped epoch must not run dry
    shape = tuple(train_ds.element_spec[0].shape[1:])
    steps = -(-len(train_samples) // config.batch_size)
    if light:
        model = reusable_model(config, shape, steps_per_execution=1 if config.steps_per_epoch else min(steps, 8))
    else:
        model = build(config, shape)
    monitor = "val_loss" if val_ds is not None else "loss"
    best = work_dir / "best.weights.h5"
    epochs_log = work_dir / "epochs.json"
    stop = config.patience > 0  # 0: a fixed schedule, every epoch run and the last one kept
    schedule = _lr_schedule(config)
    average = work_dir / "weight_average.npz"
    if light:
        cbs = [*([keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience, restore_best_weights=True)]
                 if stop else []),
               *schedule, *_weight_average(config, None), *(callbacks or [])]
    else:
        if not (work_dir / "backup").exists():
            epochs_log.unlink(missing_ok=True)  # nothing to resume: a fresh run, a fresh log
            average.unlink(missing_ok=True)
        cbs = [
            _epoch_logger(epochs_log, _read_epochs(epochs_log)),  # before the backup: every epoch it holds is logged
            keras.callbacks.BackupAndRestore(str(work_dir / "backup"), delete_checkpoint=True),
            *_weight_average(config, average),  # after the backup: a resume finds the sum at most one epoch behind
            *([keras.callbacks.ModelCheckpoint(str(best), monitor=monitor, save_best_only=True,
                                               save_weights_only=True),
               keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience)] if stop else []),
            *schedule,
            *_tensorboard(work_dir / "tensorboard"),
            *(callbacks or []),
        ]
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch or None,
        class_weight=weights if soft is None else None,
        callbacks=cbs,
        shuffle=False,  # tf.data already shuffles
        verbose=verbose,
    )
    if not light and stop and best.exists():  # the epoch with the best validation loss, not the last one
        model.load_weights(str(best))
    # Every epoch, those before a resume included (a light fold never resumes: Keras's history is all).
    epochs = dict(enumerate(dict(zip(history.history, v)) for v in zip(*history.history.values()))) if light \
        else _read_epochs(epochs_log)
    keys = list(history.history) or sorted({k for logs in epochs.values() for k in logs})
    order = sorted(epochs)
    hist = {k: [float(epochs[e][k]) for e in order if k in epochs[e]] for k in keys}
    hist["epochs_run"] = len(order)
    new = len(next(iter(history.history.values()), []))
    hist["resumed_at"] = len(order) - new if new < len(order) else 0
    if config.flip_average:  # after the fit: training saw single images (mirrored by the augmentation)
        from mer_tf.models import flip_average

        model = flip_average(model, config.image_kind)
    return model, hist


def _fit_ensemble(config: TrainConfig, train_samples, val_samples, store, work_dir, callbacks, verbose, light):
    """`fit_model` of each member of `config.ensemble`, in turn; returns (the `ensemble` model, history).

    Member k is `config` with seed `member_seed(seed, k)`, one fit and no
    mirror: member 0 runs first, under the global seed its caller set, so it
    is exactly the single fit of `config`'s seed; each later member reseeds
    everything before it starts. A full fit keeps each member's backups and
    logs in `work_dir/member<k>` (a killed run resumes member by member).
    The history is member 0's, with each member's under "members"; extra
    `callbacks` watch member 0 alone.
    """
    import keras

    from mer_tf.models.ensemble import ensemble, member_seed

    members, histories = [], []
    for k in range(int(config.ensemble)):
        member = config.with_overrides(ensemble=1, flip_average=False, seed=member_seed(config.seed, k))
        if k:
            keras.utils.set_random_seed(member.seed)
        model, hist = fit_model(member, train_samples, val_samples, store,
                                work_dir if light else Path(work_dir) / f"member{k}",
                                callbacks=callbacks if k == 0 else None, verbose=verbose, light=light)
        members.append(model)
        histories.append(hist)
    model = ensemble(members)
    if config.flip_average:
        from mer_tf.models import flip_average

        model = flip_average(model, config.image_kind)
    return model, {**histories[0], "members": histories}


def _read_epochs(path: Path) -> dict[int, dict]:
    """epoch index -> that epoch's logs, as `_epoch_logger` wrote them (empty when there is no log)."""
    import json

    try:
        return {int(k): v for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _epoch_logger(path: Path, epochs: dict[int, dict]):
    """A callback that records each finished epoch's logs, so a resumed run can report all of them."""
    import keras

    from mer_tf.atomic import atomic_write_json

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs[int(epoch)] = {k: float(v) for k, v in (logs or {}).items()}
            atomic_write_json(path, {str(k): v for k, v in sorted(epochs.items())})

    return EpochLogger()


def _claim_work_dir(work_dir: Path, config: TrainConfig, train_samples, val_samples) -> None:
    """Resume only the same run: a backup left by another config or split is removed.

    Without this, a killed run's backup (say, apex input) would be "resumed"
    by a new run with a different config (flow input) in the same folder,
    which then trains zero epochs and reports the old weights.
    """
    import hashlib
    import json
    import shutil

    run = {
        "config": {k: v for k, v in config.to_dict().items() if k not in ("cache_dir", "threads", "data")},
        "train": sorted(s.key for s in train_samples),
        "val": sorted(s.key for s in val_samples),
    }
    fingerprint = hashlib.sha1(json.dumps(run, sort_keys=True, default=str).encode()).hexdigest()
    stamp = work_dir / "run.sha1"
    if work_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != fingerprint):
        for name in ("backup", "best.weights.h5", "epochs.json", "weight_average.npz"):
            target = work_dir / name
            if target.exists():
                log.warning("removing %s: it belongs to a different run (config or split changed)", target)
                shutil.rmtree(target) if target.is_dir() else target.unlink()
    work_dir.mkdir(parents=True, exist_ok=True)
    from mer_tf.outputs import write_marker

    write_marker(work_dir, "work")  # so that the next run may resume in it, and remove it
    stamp.write_text(fingerprint + "\n")


def _tensorboard(log_dir: Path) -> list:
    """A TensorBoard callback when the `tensorboard` package is installed.

    tensorflow-cpu 2.21 does not pull it in; without it the callback fails on
    its first summary, so the run goes on without logs and says so.
    """
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorboard") is None:
        log.warning("TensorBoard logs off: `pip install tensorboard` to write them to %s", log_dir)
        return []
    return [keras.callbacks.TensorBoard(str(log_dir), write_graph=False, profile_batch=0)]


def predict_log_probs(model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(N, C) log-probabilities for (N, S, S, 3) float32 images."""
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    return np.asarray(model.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0))


def env_threads() -> int:
    """TF threads from the environment (Ray workers get 1), default 1."""
    return int(os.environ.get("TF_NUM_INTRAOP_THREADS", "1"))
