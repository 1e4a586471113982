"""Test-time mirror averaging: the Mirror layer, the flip_average wrapper, its fit, save, reload and TFLite export."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="needs TensorFlow (extra [train])")

from mer_tf.layers import Mirror  # noqa: E402
from mer_tf.models import build_model, flip_average  # noqa: E402
from mer_tf.models.flip_average import unwrap  # noqa: E402

SIZE = 28


def _x(n=6, seed=3):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, SIZE, SIZE, 3)).astype("float32")


@pytest.mark.parametrize("mode", ["apex", "flow", "flow_image"])
def test_mirror_flips_the_columns_and_turns_the_horizontal_flow(mode):
    x = _x()
    y = np.asarray(Mirror(mode)(x))
    np.testing.assert_allclose(y[..., 1:], x[:, :, ::-1, 1:])
    u = x[:, :, ::-1, 0]
    np.testing.assert_allclose(y[..., 0], {"apex": u, "flow": -u, "flow_image": 1.0 - u}[mode], atol=1e-6)
    np.testing.assert_allclose(np.asarray(Mirror(mode)(y)), x, atol=1e-6)  # a mirror twice is the identity


def test_an_unknown_mirror_mode_is_named():
    with pytest.raises(ValueError, match="mode='optical'"):
        Mirror("optical")


def test_the_average_is_a_distribution_that_no_mirror_can_change():
    base = build_model("eccnn", input_shape=(SIZE, SIZE, 3), num_classes=3)
    x = _x()
    single = base.predict(x, verbose=0)
    wrapped = flip_average(base, "flow_image")
    assert wrapped.name == "eccnn_flip_average" and unwrap(wrapped) is base and unwrap(base) is base
    both = wrapped.predict(x, verbose=0)
    mirrored = base.predict(np.asarray(Mirror("flow_image")(x)), verbose=0)
    mean = (single + mirrored) / 2
    expected = mean - np.log(np.exp(mean).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(both, expected, atol=1e-5)
    np.testing.assert_allclose(np.exp(both).sum(axis=1), 1.0, atol=1e-5)
    # the point of it: the image and its mirror image get the same verdict
    np.testing.assert_allclose(wrapped.predict(np.asarray(Mirror("flow_image")(x)), verbose=0), both, atol=1e-5)
    assert not np.allclose(single, mirrored, atol=1e-4)  # while the single model does tell them apart
    with pytest.raises(ValueError, match="already a flip_average wrapper"):
        flip_average(wrapped, "flow_image")


def test_a_wrapped_model_saves_reloads_and_converts_to_builtin_tflite(tmp_path):
    import keras
    from ai_edge_litert.interpreter import Interpreter

    wrapped = flip_average(build_model("eccnn", input_shape=(SIZE, SIZE, 3), num_classes=3), "flow")
    x = _x(4) - 0.5
    expected = wrapped.predict(x, verbose=0)
    wrapped.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-6)
    converter = tf.lite.TFLiteConverter.from_keras_model(again)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex fallback
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    for i in range(len(x)):
        interpreter.set_tensor(inp["index"], x[i : i + 1])
        interpreter.invoke()
        np.testing.assert_allclose(interpreter.get_tensor(out["index"])[0], expected[i], atol=1e-4)


def test_fit_model_wraps_after_training_and_train_saves_the_wrapped_model(tmp_path):
    from mer_tf.data import FeatureStore
    from mer_tf.model_folder import ModelFolder
    from mer_tf.training import TrainConfig, train
    from mer_tf.training.fit import fit_model
    from mer_tf.training.samples import split_validation
    from test_training_helpers import make_samples

    samples = make_samples(tmp_path / "data")
    config = TrainConfig(data="unused", epochs=1, steps_per_epoch=2, batch_size=4, val_subjects=1, patience=0,
                         cache_dir=str(tmp_path / "cache"), ecrl=False, flip_average=True)
    train_s, val_s = split_validation(samples, config.val_subjects, config.seed, config.loso_group_by)
    store = FeatureStore(config.input_spec(), config.cache_dir)
    store.ensure(samples, progress=False)
    model, _ = fit_model(config, train_s, val_s, store, tmp_path / "w", light=True)
    assert model.name.endswith("_flip_average")
    x = np.stack([store.load(s).image for s in val_s])
    np.testing.assert_allclose(model.predict(np.asarray(Mirror(config.input)(x)), verbose=0),
                               model.predict(x, verbose=0), atol=1e-5)
    train(config, tmp_path / "model", samples=samples, progress=False)
    reloaded = ModelFolder.load(tmp_path / "model").keras_model()
    assert reloaded.name.endswith("_flip_average")


def test_a_flip_averaged_loso_also_reports_the_same_fit_read_without_the_mirror(tmp_path):
    """`cnn_single`: the wrapped model's single pass on every test and validation sample, for a paired reading."""
    import csv

    from mer_tf.training import TrainConfig, run_loso
    from test_training_helpers import make_samples

    samples = make_samples(tmp_path / "data", subjects=4)
    config = TrainConfig(data="unused", epochs=1, steps_per_epoch=2, batch_size=4, val_subjects=1, patience=0,
                         cache_dir=str(tmp_path / "cache"), ecrl=False, flip_average=True)
    result = run_loso(config, tmp_path / "loso", samples=samples, use_ray=False, max_folds=2, progress=False)
    for name in ("validation_predictions.csv", "predictions.csv"):  # rows: the test predictions, read last
        with open(tmp_path / "loso" / name) as fh:
            rows = list(csv.DictReader(fh))
        assert rows and all(r["cnn_single"] in config.class_names for r in rows), name
    # the same seed trains the same weights (stateless augmentation), so a plain run's `cnn` is this `cnn_single`
    plain = run_loso(config.with_overrides(flip_average=False), tmp_path / "plain", samples=samples, use_ray=False,
                     max_folds=2, progress=False)
    with open(tmp_path / "plain" / "predictions.csv") as fh:
        assert [r["cnn"] for r in csv.DictReader(fh)] == [r["cnn_single"] for r in rows]
    assert result.scores["cnn"]["all"]["n"] == plain.scores["cnn"]["all"]["n"] == len(rows)


@pytest.mark.parametrize("mode", ["flow", "flow_image"])
def test_int8_mirror_keeps_one_scale_through_the_flip(mode):
    """An int8 REVERSE_V2 copies bytes, so its input and output must share one scale and zero point. With the flip
    first, the converter gave its output the scale of the MUL after it, and the mirrored branch read every pixel
    wrong: on the MEGC 2019 release int8 agreed with float32 on 90.5 % of 442 samples; with the flip last, 99.5 %."""
    from ai_edge_litert.interpreter import Interpreter

    from export.quantization import QuantizationConfig
    from export.tflite_exporter import TFLiteExporter

    wrapped = flip_average(build_model("eccnn", input_shape=(SIZE, SIZE, 3), num_classes=3), mode)
    x = _x(16) - (0.5 if mode == "flow" else 0.0)
    exporter = TFLiteExporter(wrapped, {"labels": ["a", "b", "c"], "preprocess": {}})
    try:
        tflite = exporter.convert(QuantizationConfig("int8", representative_data=x))
    finally:
        exporter.close()
    interpreter = Interpreter(model_content=tflite)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    flips = [op for op in interpreter._get_ops_details() if op["op_name"] == "REVERSE_V2"]
    assert flips, "the mirror converts to REVERSE_V2"
    for op in flips:
        source, result = tensors[op["inputs"][0]], tensors[op["outputs"][0]]
        assert source["quantization"] == result["quantization"], (source["quantization"], result["quantization"])


def test_mirror_mode_is_read_from_the_wrapper_itself_after_a_reload(tmp_path):
    """QAT and pruning re-wrap the single pass with this mode: a re-scaled flow image ("flow_image" input,
    mirrored as a signed field) must come back as "flow", not as its input mode."""
    import keras

    from mer_tf.models.flip_average import mirror_mode

    single = build_model("eccnn", input_shape=(SIZE, SIZE, 3), num_classes=3)
    assert mirror_mode(single) is None
    for mode in ("flow", "flow_image"):
        wrapped = flip_average(build_model("eccnn", input_shape=(SIZE, SIZE, 3), num_classes=3), mode)
        wrapped.save(tmp_path / f"{mode}.keras")
        assert mirror_mode(keras.saving.load_model(tmp_path / f"{mode}.keras", compile=False)) == mode
