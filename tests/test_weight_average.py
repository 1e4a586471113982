"""Weight averaging over the last epochs: the mean it keeps, its resume, its settings."""

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="needs Keras (extra [train])")

from mer_tf.training import TrainConfig  # noqa: E402
from mer_tf.training.weight_average import weight_average_callback  # noqa: E402

EPOCHS, LAST = 5, 3


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 1))).astype("float32")


def _model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


class _Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()


class _Kill(keras.callbacks.Callback):
    """Raises at the end of one epoch, as a killed process would stop there."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"killed after epoch {epoch}")


def _fit(model, callbacks):
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)


def _uninterrupted():
    model, record = _model(), _Record()
    _fit(model, [record, weight_average_callback(EPOCHS, LAST)])
    return model, record.weights


def test_the_kept_weights_are_the_mean_of_the_last_epochs():
    model, seen = _uninterrupted()
    for i, got in enumerate(model.get_weights()):
        want = np.mean([seen[e][i] for e in range(EPOCHS - LAST, EPOCHS)], axis=0)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert not np.allclose(model.get_weights()[0], seen[EPOCHS - 1][0])  # not the last epoch's own
    last_only = _model()
    _fit(last_only, [weight_average_callback(EPOCHS, 1)])
    for got, want in zip(last_only.get_weights(), seen[EPOCHS - 1]):  # N = 1: the last epoch, as without it
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("where", ["after the sum", "between the backup and the sum"])
def test_a_killed_run_resumes_to_the_same_average(tmp_path, where):
    """Killed after epoch 3 of 5; the sum file holds epoch 3, or (killed before it was written) only epoch 2."""
    expected, _ = _uninterrupted()
    state = tmp_path / "weight_average.npz"

    def callbacks(kill=None):
        backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=True)
        average = weight_average_callback(EPOCHS, LAST, state)
        if kill is None:
            return [backup, average]
        return [backup, average, kill] if where == "after the sum" else [backup, kill, average]

    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), callbacks(_Kill(3)))
    with np.load(state) as saved:
        assert list(saved["epochs"]) == ([2, 3] if where == "after the sum" else [2])
    resumed = _model()
    _fit(resumed, callbacks())
    for got, want in zip(resumed.get_weights(), expected.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not state.exists()  # the run is over: its sum file is gone with its backup


def test_a_resume_that_lost_more_than_one_epoch_of_the_sum_is_refused(tmp_path):
    state = tmp_path / "weight_average.npz"
    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), [keras.callbacks.BackupAndRestore(str(tmp_path / "backup")), _Kill(3)])  # no sum kept
    with pytest.raises(RuntimeError, match=r"no weights of epochs \[1, 2, 3\]"):
        _fit(_model(), [keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
                        weight_average_callback(EPOCHS, 4, state)])


def test_bad_weight_average_settings_are_named():
    with pytest.raises(ValueError, match="weight_average=41, epochs=40"):
        TrainConfig(epochs=40, weight_average=41)
    with pytest.raises(ValueError, match="weight_average=-1"):
        TrainConfig(weight_average=-1)
    with pytest.raises(ValueError, match="Set patience 0 or weight_average 0"):
        TrainConfig(weight_average=5, patience=3)
    with pytest.raises(ValueError, match="last=0"):
        weight_average_callback(5, 0)


@pytest.mark.parametrize("light", [True, False])
def test_fit_model_keeps_the_mean_and_mer_train_takes_the_flag(tmp_path, light):
    import argparse

    from mer_tf.commands.train import add_arguments, config_from_args
    from mer_tf.data import FeatureStore
    from mer_tf.training.fit import fit_model
    from mer_tf.training.samples import split_validation
    from test_training_helpers import make_samples

    samples = make_samples(tmp_path / "data")
    config = TrainConfig(data="unused", epochs=3, steps_per_epoch=2, batch_size=4, val_subjects=1, patience=0,
                         cache_dir=str(tmp_path / "cache"), ecrl=False, weight_average=2)
    train_s, val_s = split_validation(samples, config.val_subjects, config.seed, config.loso_group_by)
    store = FeatureStore(config.input_spec(), config.cache_dir)
    store.ensure(samples, progress=False)
    record = _Record()
    model, history = fit_model(config, train_s, val_s, store, tmp_path / "w", callbacks=[record], light=light)
    assert history["epochs_run"] == 3
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, (record.weights[1][i] + record.weights[2][i]) / 2, rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "w" / "weight_average.npz").exists()
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args(["--weight-average", "7", "--patience", "0"])).weight_average == 7
