"""A seed ensemble: the averaging model, its members, and member 0 as the single fit of the same seed."""

import csv

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="needs Keras (extra [train])")

from mer_tf.models.ensemble import ensemble, member_seed, members_of  # noqa: E402


def _member(seed, name="tiny"):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0))(x)
    return keras.Model(inputs, keras.layers.Activation("log_softmax")(x), name=name)


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_the_ensemble_is_the_renormalized_mean_of_its_members_log_probabilities(tmp_path):
    a, b = _member(1), _member(2)
    x = np.random.default_rng(0).normal(size=(6, 8, 8, 3)).astype("float32")
    model = ensemble([a, b])
    want = _log_softmax((a.predict(x, verbose=0) + b.predict(x, verbose=0)) / 2)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(want, a.predict(x, verbose=0), atol=1e-3)  # the second member moves it
    found = members_of(model)
    assert [m.name for m in found] == ["tiny_member0", "tiny_member1"]
    np.testing.assert_allclose(found[0].predict(x, verbose=0), a.predict(x, verbose=0), rtol=1e-6)
    # one graph: it saves and loads whole, members and all
    model.save(tmp_path / "ens.keras")
    again = keras.models.load_model(tmp_path / "ens.keras", compile=False)
    np.testing.assert_allclose(again.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    assert len(members_of(again)) == 2


def test_members_are_found_inside_the_mirror_wrapper_and_bad_members_are_named():
    from mer_tf.models import flip_average

    wrapped = flip_average(ensemble([_member(1), _member(2), _member(3)]), "flow_image")
    assert [m.name for m in members_of(wrapped)] == [f"tiny_member{k}" for k in range(3)]
    assert members_of(_member(1)) == []
    with pytest.raises(ValueError, match="at least 2 members"):
        ensemble([_member(1)])
    other = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(3)], name="other")
    with pytest.raises(ValueError, match="share input and output shapes"):
        ensemble([_member(1), other])


def test_member_seeds_keep_clear_of_the_neighbouring_seeds():
    assert member_seed(3, 0) == 3
    assert {member_seed(s, k) for s in range(5) for k in range(1, 4)}.isdisjoint(range(5))


def test_config_and_flag():
    from mer_tf.cli import build_parser
    from mer_tf.training import TrainConfig

    with pytest.raises(ValueError, match="ensemble=0"):
        TrainConfig(ensemble=0)
    args = build_parser().parse_args(["loso", "--ensemble", "3"])
    assert args.ensemble == 3


def test_an_ensemble_loso_reads_member_0_as_the_single_fit_of_its_seed(tmp_path):
    """`cnn_first` of an ensemble of 2 repeats, row by row, the `cnn` column of the single fit with that seed."""
    from mer_tf.training import TrainConfig, run_loso
    from test_training_helpers import make_samples

    samples = make_samples(tmp_path / "data", subjects=3)
    config = TrainConfig(data="unused", epochs=2, steps_per_epoch=2, batch_size=4, val_subjects=1, patience=0,
                         cache_dir=str(tmp_path / "cache"), ecrl=False, flip_average=True, seed=4)  # fmt: skip
    with pytest.raises(ValueError, match="ensemble=2"):
        run_loso(config.with_overrides(ensemble=2), tmp_path / "t", samples=samples, use_ray=False, progress=False,
                 trace_epochs=True)
    single = run_loso(config, tmp_path / "single", samples=samples, use_ray=False, progress=False)
    both = run_loso(config.with_overrides(ensemble=2), tmp_path / "ens", samples=samples, use_ray=False,
                    progress=False)
    assert [f["name"] for f in both.folds] == [f["name"] for f in single.folds]

    def read(name, file):
        with open(tmp_path / name / file) as fh:
            return {(r["fold"], r["sample"]): r for r in csv.DictReader(fh)}

    for file in ("predictions.csv", "validation_predictions.csv"):
        one, two = read("single", file), read("ens", file)
        assert one.keys() == two.keys() and one
        assert all(two[k]["cnn_first"] == one[k]["cnn"] for k in one)
        assert "cnn_first" not in next(iter(one.values()))


def test_an_ensemble_model_folder_exports_whole_and_refuses_qat(tmp_path):
    """PTQ converts the whole averaged graph (LiteRT float32 = Keras); QAT and pruning fine-tune one fit: refused."""
    from export.export_model import export_model
    from export.litert_model import LiteRTModel
    from mer_tf.model_folder import ModelFolder
    from test_export_support import make_model_folder

    folder = make_model_folder(tmp_path, steps=8, flip=True, members=2)
    model = ModelFolder.load(folder).keras_model()
    assert len(members_of(model)) == 2
    with pytest.raises(ValueError, match="ensemble=2"):
        export_model(folder, tmp_path / "qat", variants="float32", qat=True, progress=False)
    assert not (tmp_path / "qat").exists()
    manifest = export_model(folder, tmp_path / "out", variants="float32,int8", representative=16, check_samples=8,
                            progress=False)
    assert manifest["variants"]["float32"]["check_forward"]["max_abs_diff"] < 1e-4
    assert manifest["variants"]["int8"]["check_forward"]["top1_agreement"] >= 0.75
    x = np.load(tmp_path / "arrays.npz")["x"][:4]
    lite = LiteRTModel(tmp_path / "out" / manifest["variants"]["float32"]["file"])
    np.testing.assert_allclose(lite(x), model.predict(x, verbose=0), atol=1e-4)


def test_mer_train_saves_the_ensemble_with_each_members_history(tmp_path):
    import json

    from mer_tf.model_folder import ModelFolder
    from mer_tf.training import TrainConfig, train
    from test_training_helpers import make_samples

    samples = make_samples(tmp_path / "data", subjects=3)
    config = TrainConfig(data="unused", epochs=2, steps_per_epoch=2, batch_size=4, val_subjects=1, patience=0,
                         cache_dir=str(tmp_path / "cache"), ecrl=False, ensemble=2)
    train(config, tmp_path / "model", samples=samples, progress=False)
    model = ModelFolder.load(tmp_path / "model").keras_model()
    first, second = members_of(model)
    assert not np.allclose(first.get_weights()[0], second.get_weights()[0])  # other seeds, other fits
    history = json.loads((tmp_path / "model" / "history.json").read_text())
    assert len(history["members"]) == 2 and all(h["epochs_run"] == 2 for h in history["members"])
    assert json.loads((tmp_path / "model" / "config.json").read_text())["ensemble"] == 2
