"""ECCNN, the Table 3 baselines and nll_loss: structure, bad input, config, loss, save/load."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the models need TensorFlow (extra [train])")

import keras  # noqa: E402

from mer_tf.models import (  # noqa: E402
    MODEL_NAMES,
    ECCNNOptions,
    build_eccnn,
    build_model,
    build_model_from_config,
    model_config,
    nll_loss,
)
from mer_tf.models.summary import ModelSummary  # noqa: E402

SIZE = 32  # small inputs keep the fast suite fast


def _faces(n, size=SIZE, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, size, size, 3)).astype("float32")


@pytest.mark.parametrize("pooling", [1, 2, 3])
@pytest.mark.parametrize("local_region", [True, False])
def test_eccnn_structure(pooling, local_region):
    model = build_eccnn((48, 48, 3), 7, pooling_layers=pooling, local_region=local_region)
    names = [layer.name for layer in model.layers]
    assert all(n.startswith("eccnn_") for n in names), names
    assert sum(n.startswith("eccnn_pool") for n in names) == pooling
    assert ("eccnn_local_region" in names) == local_region
    assert names[-1] == "eccnn_log_softmax"
    side = 48 // 2**pooling
    assert tuple(model.get_layer("eccnn_flatten").input.shape[1:3]) == (side, side)
    out = model.predict(_faces(4, 48), verbose=0)
    assert out.shape == (4, 7)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, rtol=1e-5)  # log-probabilities


def test_ststnet_has_the_published_shape_at_28_px():
    # Liong et al. 2019: three 3x3 streams of 3, 5 and 8 filters on the u/v/strain image, 3x3/3 max pooling,
    # concatenated, 2x2 average pooling: 5x5x16 = 400 features into the classifier; 1,683 trainable weights
    # (convs 84 + 140 + 224, batch-norm scales and offsets 32, dense 400x3 + 3)
    model = build_model("ststnet", (28, 28, 3), 3)
    assert tuple(model.get_layer("ststnet_flatten").output.shape[1:]) == (400,)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 1683
    assert [model.get_layer(f"ststnet_stream{i}_conv").filters for i in (1, 2, 3)] == [3, 5, 8]
    assert model.output_shape == (None, 3)
    with pytest.raises(ValueError, match="at least 4"):
        build_model("ststnet", (3, 3, 3), 3)
    # the summary reads the merge layer (three inputs): convs 30x30x(3+5+8) x 27 MACs, dense 400x3
    assert ModelSummary.of(model).total_macs == 30 * 30 * 16 * 27 + 400 * 3


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        (dict(input_shape=(32, 32)), r"rank 3.*\(32, 32\)"),
        (dict(input_shape=(1, 32, 32, 3)), r"rank 3.*\(1, 32, 32, 3\)"),
        (dict(input_shape=(32, 32, 1)), r"3 channels.*\(32, 32, 1\)"),
        (dict(pooling_layers=0), r"pooling_layers.*1, 2 or 3.*pooling_layers=0"),
        (dict(pooling_layers=4), r"pooling_layers.*1, 2 or 3.*pooling_layers=4"),
        (dict(input_shape=(20, 20, 3)), r"\(20, 20, 3\).*too small.*pooling_layers=3.*at least 24"),
        (dict(input_shape=(4, 4, 3), pooling_layers=3, local_region=False), r"too small.*at least 8"),
        (dict(input_shape=(32, 32, 3), grid=(5, 5)), r"too small.*5x5 local region grid.*at least 40"),
        (dict(filtres=(8,)), r"unknown ECCNN option.*filtres"),
        (dict(dropout=1.0), r"dropout.*1.0"),
    ],
)
def test_eccnn_bad_input_names_value(kwargs, pattern):
    kwargs = {"input_shape": (SIZE, SIZE, 3), **kwargs}
    with pytest.raises(ValueError, match=pattern):
        build_eccnn(**kwargs)


def test_build_model_bad_name_and_kwargs():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'.*eccnn, drml, alexnet, convnet, lcn"):
        build_model("resnet", (SIZE, SIZE, 3), 7)
    with pytest.raises(ValueError, match=r"'convnet' does not take \['pooling_layers'\]"):
        build_model("convnet", (SIZE, SIZE, 3), 7, pooling_layers=2)
    with pytest.raises(ValueError, match=r"\(12, 12, 3\) is too small for DRML.*at least 22"):
        build_model("drml", (12, 12, 3), 7)
    with pytest.raises(ValueError, match="num_classes"):
        build_model("lcn", (SIZE, SIZE, 3), 1)


def test_options_and_model_config_round_trip_through_json():
    options = ECCNNOptions(pooling_layers=2, filters=(8, 16, 16), grid=(3, 2), region_activation=None)
    assert ECCNNOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options
    config = json.loads(json.dumps(model_config("eccnn", (SIZE, SIZE, 3), 7, options=options, dropout=0.25)))
    assert config["options"]["dropout"] == 0.25 and config["options"]["filters"] == [8, 16, 16]
    a = build_eccnn((SIZE, SIZE, 3), 7, options=options, dropout=0.25)
    b = build_model_from_config(config)
    assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    assert [layer.get_config() for layer in a.layers][1:] == [layer.get_config() for layer in b.layers][1:]
    assert build_model_from_config(model_config("lcn", (SIZE, SIZE, 3), 3)).output_shape == (None, 3)


def test_nll_loss_is_minus_log_probability_of_the_label():
    logits = np.random.default_rng(1).normal(size=(6, 7)).astype("float32")
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    labels = np.array([0, 6, 3, 3, 5, 1])
    expected = -log_probs[np.arange(6), labels]
    np.testing.assert_allclose(np.asarray(nll_loss(labels, log_probs)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(nll_loss(labels[:, None], log_probs)), expected, rtol=1e-6)
    sparse_ce = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    np.testing.assert_allclose(np.asarray(nll_loss(labels, log_probs)), np.asarray(sparse_ce), rtol=1e-5)


def test_eccnn_trains_with_nll_and_sample_weights():
    keras.utils.set_random_seed(0)
    model = build_eccnn((SIZE, SIZE, 3), 7, dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=nll_loss)
    x, y = _faces(8), np.arange(8) % 7
    weights = np.where(y == 5, 3.0, 1.0).astype("float32")  # e.g. up-weight Disgust
    per_sample = np.asarray(nll_loss(y, model.predict(x, verbose=0)))
    # Keras multiplies the per-sample loss by the weights and averages over the batch
    evaluated = model.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0)
    np.testing.assert_allclose(evaluated, (per_sample * weights).mean(), rtol=1e-4)
    history = model.fit(x, y, sample_weight=weights, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_every_layer_is_named_after_its_model():
    for name in MODEL_NAMES:
        model = build_model(name, (SIZE, SIZE, 3), 7)
        assert model.name == name
        assert all(layer.name.startswith(f"{name}_") for layer in model.layers), name
        assert model.layers[-1].name == f"{name}_log_softmax"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_save_and_load_give_identical_outputs(name, tmp_path):
    model = build_model(name, (SIZE, SIZE, 3), 7)
    model.compile(optimizer="adam", loss=nll_loss)
    model.optimizer.build(model.trainable_variables)  # saved with its (fresh) slots, reloads without warnings
    x = _faces(5, seed=3)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: layers and loss are registered
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.loss is not None


def test_summary_counts_macs_by_hand():
    # 32x32 input, pooling 3: conv1 32x32x16 (3x3x3), conv2 16x16x32 (3x3x16), conv3 8x8x64 (3x3x32),
    # region layer on 4x4x64 (grid 3: regions 2,1,1 -> still 16 pixels) 3x3x64x64, dense 1024->128, 128->7
    summary = ModelSummary.of(build_eccnn((32, 32, 3), 7))
    expected = (32 * 32 * 16 * 27) + (16 * 16 * 32 * 144) + (8 * 8 * 64 * 288) + 16 * 9 * 64 * 64 + 1024 * 128 + 128 * 7
    assert summary.total_macs == expected
    assert summary.total_params == build_eccnn((32, 32, 3), 7).count_params()
    assert "eccnn_local_region" in summary.format_table()


def test_nll_loss_reads_a_distribution_as_soft_targets():
    logits = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    labels = np.array([0, 2, 1, 1])
    onehot = np.eye(3, dtype="float32")[labels]
    np.testing.assert_allclose(np.asarray(nll_loss(onehot, log_probs)), np.asarray(nll_loss(labels, log_probs)),
                               rtol=1e-6)
    smooth = onehot * 0.9 + 0.1 / 3
    expected = -(smooth * log_probs).sum(axis=1)
    np.testing.assert_allclose(np.asarray(nll_loss(smooth, log_probs)), expected, rtol=1e-6)
    keras_ce = keras.losses.categorical_crossentropy(smooth, logits, from_logits=True)
    np.testing.assert_allclose(np.asarray(nll_loss(smooth, log_probs)), np.asarray(keras_ce), rtol=1e-5)
