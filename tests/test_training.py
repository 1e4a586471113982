"""Tiny training runs through the real pipeline; the model folder; resume."""

import json

import keras
import numpy as np
import pytest

from mer_tf.data import FeatureStore
from mer_tf.model_folder import ModelFolder
from mer_tf.training import TrainConfig, train
from test_training_helpers import make_samples


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return make_samples(root / "data"), root / "cache"


def _config(cache, **kw):
    base = dict(data="unused", epochs=2, steps_per_epoch=2, batch_size=4, val_subjects=1, cache_dir=str(cache),
                ecrl=False, patience=5)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("mode", ["apex", "flow"])
def test_tiny_train_writes_a_folder_that_reloads_and_predicts(tiny, tmp_path, mode):
    samples, cache = tiny
    config = _config(cache, input=mode, ecrl=True)
    result = train(config, tmp_path / "model", samples=samples, progress=False)
    folder = tmp_path / "model"
    # ECRL calibrated on the training subjects, scored with the fused column on validation.
    assert (folder / "ecrl.json").is_file()
    assert {"cnn", "ecrl", "fused"} <= set(result.metrics["validation"])
    for name in ("model.keras", "config.json", "labels.json", "preprocess.json", "input.json", "metrics.json", "curves.png"):
        assert (folder / name).is_file(), name
        assert result.paths[name] == folder / name
    assert not list(tmp_path.glob(".model.tmp-*")), "temporary folder left behind"
    cfg = json.loads((folder / "config.json").read_text())
    assert set(cfg["run"]["train_subjects"]).isdisjoint(cfg["run"]["val_subjects"])
    assert cfg["input"] == mode and json.loads((folder / "input.json").read_text())["mode"] == mode
    assert result.history["epochs_run"] == 2

    loaded = ModelFolder.load(folder)
    store = FeatureStore(loaded.input_spec(), cache)
    x = np.stack([store.load(s).image for s in samples[:5]])
    assert x.shape == (5, 64, 64, 3)
    got = loaded.keras_model().predict(x, verbose=0)
    assert got.shape == (5, 7)
    np.testing.assert_allclose(np.exp(got).sum(axis=1), 1.0, rtol=1e-4)  # log-probabilities
    # Same weights as the in-memory model that trained.
    fresh = keras.models.load_model(folder / "model.keras")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), got, rtol=1e-5, atol=1e-6)
    assert loaded.classes[0] == "Neutral" and loaded.scheme == "seven"
    assert loaded.ecrl() is not None


class _StopAfter(keras.callbacks.Callback):
    """Kills the run at the end of an epoch, after BackupAndRestore saved it."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt("stopped by the test")


def test_resume_continues_from_backup(tiny, tmp_path):
    samples, cache = tiny
    config = _config(cache, epochs=3)
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        train(config, out, samples=samples, callbacks=[_StopAfter(1)], progress=False)
    backup = tmp_path / "model.work" / "backup"
    assert backup.is_dir() and any(backup.iterdir()), "no backup after the stopped epoch"
    assert not out.exists(), "a stopped run must not leave a model folder"
    result = train(config, out, samples=samples, progress=False)
    # Resumed after epoch 1 of 3: this run trained epochs 2 and 3, and reports all three.
    assert result.history["epochs_run"] == 3 and result.history["resumed_at"] == 1
    assert len(result.history["loss"]) == len(result.history["val_loss"]) == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and metrics["resumed_at_epoch"] == 1
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 3  # curves.png is drawn from it
    assert not backup.exists(), "backup removed once training finished"
    assert (out / "model.keras").is_file()
    # A fresh run in the same place (nothing to resume) reports only its own epochs.
    again = train(config, out, samples=samples, progress=False)
    assert again.history["epochs_run"] == 3 and again.history["resumed_at"] == 0


def test_ecrl_is_calibrated_on_the_training_subjects_only(tiny, tmp_path):
    """The validation scores are not scored on the samples the thresholds were fitted to."""
    from mer_tf.ecrl import ECRL
    from mer_tf.training.predictions import calibrate_ecrl
    from mer_tf.training.samples import split_validation

    samples, cache = tiny
    config = _config(cache, ecrl=True, epochs=1)
    result = train(config, tmp_path / "model", samples=samples, progress=False)
    train_s, val_s = split_validation(samples, config.val_subjects, config.seed, config.loso_group_by)
    store = FeatureStore(config.input_spec(), cache)
    expected = calibrate_ecrl(train_s, [store.load(s) for s in train_s], config.class_scheme)
    saved = ECRL.load(tmp_path / "model" / "ecrl.json")
    assert saved.thresholds == expected.thresholds
    with_val = calibrate_ecrl(train_s + val_s, [store.load(s) for s in train_s + val_s], config.class_scheme)
    assert with_val.thresholds != expected.thresholds  # the test can tell the two apart
    assert result.metrics["ecrl_calibrated_on"] == "training subjects"


def test_a_corrupt_model_file_is_named_not_reported_missing(tmp_path):
    from mer_tf.model_folder import ModelFolder

    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 a zip cut short")
    folder = ModelFolder(path=tmp_path, config={}, classes=("Neutral",), scheme="seven", preprocess={})
    with pytest.raises(ValueError, match=r"model\.keras exists but cannot be loaded as a Keras model"):
        folder.keras_model()


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match="pooling=4"):
        TrainConfig(pooling=4)
    with pytest.raises(ValueError, match="'vgg'"):
        TrainConfig(model="vgg")
    with pytest.raises(ValueError, match="Unknown config keys"):
        TrainConfig().with_overrides(epoch=3)


def test_yaml_config_and_flag_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 7\nmodel: drml\ninput: flow\n")
    config = TrainConfig.from_file(path, epochs=3)
    assert (config.epochs, config.model, config.input) == (3, "drml", "flow")
    with pytest.raises(FileNotFoundError, match="configs"):
        TrainConfig.from_file(tmp_path / "missing.yaml")


def test_a_different_run_does_not_resume_a_stale_backup(tiny, tmp_path):
    samples, cache = tiny
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        train(_config(cache, epochs=2), out, samples=samples, callbacks=[_StopAfter(1)], progress=False)
    assert (tmp_path / "model.work" / "backup").is_dir()
    # Another config in the same folder: trains from scratch, every epoch.
    result = train(_config(cache, epochs=2, input="flow"), out, samples=samples, progress=False)
    assert result.history["epochs_run"] == 2


class _LastWeights(keras.callbacks.Callback):
    """Keeps the weights and learning rate each epoch ended with."""

    def __init__(self):
        super().__init__()
        self.weights, self.rates = None, []

    def on_epoch_end(self, epoch, logs=None):
        self.weights = [w.copy() for w in self.model.get_weights()]
        self.rates.append(float(self.model.optimizer.learning_rate.numpy()))


@pytest.mark.parametrize("light", [False, True])
def test_patience_zero_runs_every_epoch_and_keeps_the_last_on_a_cosine_schedule(tiny, tmp_path, light):
    """No early stop, no best-epoch restore: the returned weights are the last epoch's, lr decays by cosine."""
    import math

    from mer_tf.training.fit import fit_model
    from mer_tf.training.samples import split_validation

    samples, cache = tiny
    config = _config(cache, epochs=4, patience=0, lr_schedule="cosine", learning_rate=0.01)
    train_s, val_s = split_validation(samples, config.val_subjects, config.seed, config.loso_group_by)
    last = _LastWeights()
    model, history = fit_model(config, train_s, val_s, FeatureStore(config.input_spec(), cache), tmp_path / "w",
                               callbacks=[last], light=light)  # fmt: skip
    assert history["epochs_run"] == 4
    for kept, ended in zip(model.get_weights(), last.weights):
        np.testing.assert_array_equal(kept, ended)
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    np.testing.assert_allclose(last.rates, expected, rtol=1e-5)


def test_a_negative_patience_or_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="patience=-1"):
        TrainConfig(patience=-1)
    with pytest.raises(ValueError, match="'step'"):
        TrainConfig(lr_schedule="step")


def test_the_training_rule_says_what_the_validation_subjects_did():
    rule = TrainConfig(epochs=40, patience=0, val_subjects=2).training_rule
    assert rule == "40 epochs (cosine rate), the last kept; 2 validation subjects drawn from the training subjects, only scored"
    assert "which chose the epoch" in TrainConfig(patience=6).training_rule
    assert TrainConfig(patience=0, val_subjects=0).training_rule.endswith(
        "no validation subjects: every training subject fitted")


@pytest.mark.parametrize("light", [False, True])
def test_label_smoothing_and_mixup_train_score_and_reload(tiny, tmp_path, light):
    """Soft targets train through fit (LOSO's light folds too); validation stays plain NLL on one-hot labels."""
    from mer_tf.training.fit import fit_model
    from mer_tf.training.samples import split_validation

    samples, cache = tiny
    config = _config(cache, epochs=2, patience=0, label_smoothing=0.1, mixup=0.2)
    assert config.soft_targets and not _config(cache).soft_targets
    train_s, val_s = split_validation(samples, config.val_subjects, config.seed, config.loso_group_by)
    store = FeatureStore(config.input_spec(), cache)
    store.ensure(samples, progress=False)
    model, history = fit_model(config, train_s, val_s, store, tmp_path / "w", light=light)
    assert history["epochs_run"] == 2
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history[key]) == 2 and all(np.isfinite(history[key])), key
    assert all(0.0 <= a <= 1.0 for a in history["val_accuracy"] + history["accuracy"])
    # the validation loss is the NLL of the integer labels: recompute it from the model's own output
    x = np.stack([store.load(s).image for s in val_s])
    from mer_tf.training.samples import label_indices

    y = label_indices(val_s, config.class_names, config.class_scheme)
    logp = model.predict(x, verbose=0)
    assert history["val_loss"][-1] == pytest.approx(float(-logp[np.arange(len(y)), y].mean()), rel=1e-3)
    if not light:
        result = train(config, tmp_path / "model", samples=samples, progress=False)
        assert result.history["epochs_run"] == 2
        folder = ModelFolder.load(tmp_path / "model")
        assert folder.keras_model().predict(x[:2], verbose=0).shape == (2, 7)
        assert json.loads((tmp_path / "model" / "config.json").read_text())["mixup"] == 0.2


def test_bad_smoothing_mixup_or_dropout_is_named():
    with pytest.raises(ValueError, match="label_smoothing=1.0"):
        TrainConfig(label_smoothing=1.0)
    with pytest.raises(ValueError, match="mixup=-0.1"):
        TrainConfig(mixup=-0.1)
    with pytest.raises(ValueError, match="dropout=1.0"):
        TrainConfig(dropout=1.0)


def test_dropout_flag_reaches_the_model():
    import argparse

    from mer_tf.commands.train import add_common_arguments, config_from_args
    from mer_tf.training.fit import build

    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    config = config_from_args(parser.parse_args(["--dropout", "0.25", "--size", "28", "--dataset", "megc2019"]))
    assert config.dropout == 0.25
    rates = [layer.rate for layer in build(config, (28, 28, 3)).layers if layer.__class__.__name__ == "Dropout"]
    assert rates == [0.25]


def test_filters_flag_sets_eccnn_widths_and_ablation_baselines_keep_theirs():
    import argparse
    import json

    from mer_tf.commands.train import add_common_arguments, config_from_args
    from mer_tf.training.ablation import CELLS, cell_config
    from mer_tf.training.fit import build

    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    config = config_from_args(parser.parse_args(["--filters", "8,24,40", "--size", "28", "--dataset", "megc2019"]))
    assert config.filters == (8, 24, 40)
    widths = [layer.filters for layer in build(config, (28, 28, 3)).layers if layer.__class__.__name__ == "Conv2D"]
    assert widths == [8, 24, 40]
    # config.json round trip (a list in JSON, a tuple again when read back)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))).filters == (8, 24, 40)
    cells = {cell_id: cell_config(config, cell_id, settings, 0) for cell_id, settings in CELLS}
    assert cells["eccnn_pool1"].filters == cells["eccnn_no_local_region"].filters == (8, 24, 40)
    assert cells["drml"].filters == cells["ststnet"].filters == ()
    assert cells["eccnn_pool3"].ecrl and not cells["eccnn_pool1"].ecrl
    # the default keeps ECCNNOptions' widths
    default = config_from_args(parser.parse_args(["--size", "28", "--dataset", "megc2019"]))
    assert default.filters == ()
    assert [layer.filters for layer in build(default, (28, 28, 3)).layers
            if layer.__class__.__name__ == "Conv2D"] == [16, 32, 64]


def test_bad_filters_are_named(capsys):
    import argparse

    from mer_tf.commands.train import add_common_arguments

    with pytest.raises(ValueError, match=r"filters=\[32, 0\]"):
        TrainConfig(filters=[32, 0])
    with pytest.raises(ValueError, match="drml keeps its published ones"):
        TrainConfig(model="drml", filters=[32, 64, 128])
    with pytest.raises(ValueError, match=r"at least `pooling`=3 blocks. Received: filters=\[32, 64\]"):
        TrainConfig(filters=[32, 64])
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--filters", "32,x"])
    assert "--filters" in capsys.readouterr().err


@pytest.mark.parametrize("model_name, kinds", [("eccnn", {"kernel", "bias"}),
                                              ("ststnet", {"kernel", "bias", "gamma", "beta"})])
def test_weight_decay_shrinks_kernels_only_and_survives_the_reused_model(model_name, kinds):
    """Decoupled decay: one zero-gradient step multiplies each kernel by 1 - wd * lr; biases and BN stay."""
    from mer_tf.training.fit import build, reusable_model

    config = TrainConfig(weight_decay=0.5, learning_rate=0.1, size=28, classes="megc3", dataset="megc2019",
                         model=model_name)
    model = build(config, (28, 28, 3))
    model.optimizer.build(model.trainable_variables)
    for v in model.trainable_variables:  # non-zero biases, so that a decayed bias would show
        v.assign(v.numpy() + 0.5)
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.optimizer.apply_gradients([(keras.ops.zeros_like(v), v) for v in model.trainable_variables])
    seen = set()
    for v, b in zip(model.trainable_variables, before):
        want = b * (1 - 0.5 * 0.1) if v.name == "kernel" else b
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, err_msg=v.path)
        seen.add(v.name)
    assert seen == kinds
    # no decay: Adam as before (the optimizer carries no decay at all)
    assert build(TrainConfig(size=28), (28, 28, 3)).optimizer.weight_decay is None
    # the LOSO worker's reused model keys on the whole config: another decay builds another model
    a = reusable_model(config, (28, 28, 3), 1)
    b = reusable_model(config.with_overrides(weight_decay=0.0), (28, 28, 3), 1)
    assert a is not b and a.optimizer.weight_decay == 0.5 and b.optimizer.weight_decay is None


def test_bad_weight_decay_is_named():
    with pytest.raises(ValueError, match="weight_decay=-1"):
        TrainConfig(weight_decay=-1)


def test_class_weight_power_reaches_the_loss(tiny, tmp_path):
    """Power 0 trains exactly as no class weights; 1 and 0.5 weigh an imbalanced training set differently."""
    from mer_tf.data.tf_dataset import class_weights
    from mer_tf.training.fit import fit_model
    from mer_tf.training.samples import label_indices, split_validation

    samples, cache = tiny
    base = _config(cache, epochs=1, patience=0, steps_per_epoch=3, learning_rate=0.01, augment=False)
    train_s, val_s = split_validation(samples, base.val_subjects, base.seed, base.loso_group_by)
    # imbalance: every sample of the first class, one of each other class
    labels = label_indices(train_s, base.class_names, base.class_scheme)
    seen, imbalanced = set(), []
    for s, y in zip(train_s, labels):
        if y == labels[0] or y not in seen:
            imbalanced.append(s)
            seen.add(y)
    assert len(imbalanced) > len(seen) + 1
    store = FeatureStore(base.input_spec(), cache)
    store.ensure(imbalanced + val_s, progress=False)

    def fitted(**kw):
        keras.utils.set_random_seed(0)
        model, _ = fit_model(base.with_overrides(**kw), imbalanced, val_s, store, tmp_path / repr(kw), light=True)
        return model.get_weights()

    none, zero, half, full = (fitted(class_weights=False), fitted(class_weight_power=0.0),
                              fitted(class_weight_power=0.5), fitted())
    for a, b in zip(none, zero):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(half, full))
    assert not all(np.array_equal(a, b) for a, b in zip(half, zero))
    w = class_weights([0, 0, 0, 1], 3, power=0.5)
    assert w[0] == pytest.approx((4 / 6) ** 0.5) and w[1] == pytest.approx(2**0.5) and w[2] == 1.0
    with pytest.raises(ValueError, match="class_weight_power=-1"):
        TrainConfig(class_weight_power=-1)
    with pytest.raises(ValueError, match="class_weights=False, class_weight_power=0.5"):
        TrainConfig(class_weights=False, class_weight_power=0.5)  # a power that would silently do nothing
