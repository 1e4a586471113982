"""The region layers' vectorized training path computes what the per-region convolutions compute."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="the layers need TensorFlow (extra [train])")

from mer_tf.layers import DRMLRegionLayer, LocalRegionLayer  # noqa: E402
from mer_tf.layers.backend import keras  # noqa: E402


def _x(shape, seed=0, dtype="float32"):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype(dtype))


def _forward_and_gradients(layer, x, training):
    """Output, and gradients of a non-linear loss w.r.t. the input, kernel and bias."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(tf.sin(y) * y)
    return y.numpy(), [g.numpy() for g in tape.gradient(loss, [x, layer.kernel, layer.bias])]


def _forbid(monkeypatch, method):
    def fail(self, branch):
        raise AssertionError(f"{method} must not run here")

    monkeypatch.setattr(LocalRegionLayer, method, fail)


@pytest.mark.parametrize("activation", ["relu", None])
@pytest.mark.parametrize(
    "grid,kernel_size,hw,channels",
    [
        (3, 3, (9, 9), 5),  # 3x3 regions, every tap used
        (3, 1, (6, 12), 7),  # 1x1 kernel
        (3, 3, (3, 3), 5),  # ECCNN at 28 px: 1x1 regions, only the centre tap reads data
        (8, 3, (24, 16), 3),  # DRML's grid: 3x2 regions
        (8, 1, (8, 8), 3),
        (2, (2, 4), (8, 8), 3),  # even kernel: 'same' pads less before than after
        ((2, 4), (2, 4), (8, 8), 3),  # even kernel wider than the 4x2 regions: taps left out
        (3, 5, (6, 6), 2),  # 5x5 kernel on 2x2 regions
    ],
)
def test_training_path_equals_per_region_convolutions(monkeypatch, grid, kernel_size, hw, channels, activation):
    layer = LocalRegionLayer(grid=grid, kernel_size=kernel_size, activation=activation,
                             bias_initializer="glorot_uniform")
    x = _x((2, *hw, channels))
    layer.build(x.shape)
    y_loop, g_loop = _forward_and_gradients(layer, x, training=False)
    _forbid(monkeypatch, "_f_per_region")  # training=True must take the vectorized path
    y_vec, g_vec = _forward_and_gradients(layer, x, training=True)
    np.testing.assert_allclose(y_vec, y_loop, rtol=1e-5, atol=1e-5)
    for name, vec, loop in zip(("input", "kernel", "bias"), g_vec, g_loop):
        np.testing.assert_allclose(vec, loop, rtol=1e-5, atol=1e-5, err_msg=f"gradient w.r.t. the {name}")
        assert np.abs(loop).max() > 0  # a real gradient, not two zeros


def test_float64_training_path():
    layer = LocalRegionLayer(grid=3, dtype="float64")
    x = _x((2, 9, 9, 3), dtype="float64")
    y = layer(x, training=True)
    assert y.dtype == tf.float64
    np.testing.assert_allclose(y.numpy(), layer(x, training=False).numpy(), atol=1e-12)


@pytest.mark.parametrize("training", [None, False])
def test_inference_runs_the_per_region_convolutions(monkeypatch, training):
    _forbid(monkeypatch, "_f_vectorized")
    layer = LocalRegionLayer(grid=3)
    assert layer(_x((1, 9, 9, 2)), training=training).shape == (1, 9, 9, 2)


def test_unequal_regions_train_on_the_per_region_convolutions(monkeypatch):
    _forbid(monkeypatch, "_f_vectorized")
    layer = LocalRegionLayer(grid=3)  # 16 -> 6, 5, 5
    assert layer(_x((1, 16, 16, 2)), training=True).shape == (1, 16, 16, 2)


def test_private_switch_forces_the_per_region_convolutions(monkeypatch):
    monkeypatch.setattr(LocalRegionLayer, "_vectorized_training", False)
    _forbid(monkeypatch, "_f_vectorized")
    assert LocalRegionLayer(grid=3)(_x((1, 9, 9, 2)), training=True).shape == (1, 9, 9, 2)


def test_drml_paths_agree_on_the_same_branch_input():
    layer = DRMLRegionLayer(grid=8, bias_initializer="glorot_uniform")
    x = _x((3, 24, 24, 5))
    layer.build(x.shape)
    branch = layer._branch_input(x, training=True)  # per-region batch norm + ReLU
    outs, grads = [], []
    for f in (layer._f_vectorized, layer._f_per_region):
        with tf.GradientTape() as tape:
            tape.watch(branch)
            y = f(branch)
            loss = tf.reduce_sum(tf.sin(y) * y)
        outs.append(y.numpy())
        grads.append([g.numpy() for g in tape.gradient(loss, [branch, layer.kernel, layer.bias])])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    for vec, loop in zip(*grads):
        np.testing.assert_allclose(vec, loop, rtol=1e-5, atol=1e-5)


def test_fit_trains_the_same_weights_on_either_path(monkeypatch):
    """Keras fit passes training=True: the vectorized path runs and reaches the loop path's weights."""
    calls = []
    vectorized = LocalRegionLayer._f_vectorized

    def counting(self, branch):
        calls.append(type(self).__name__)
        return vectorized(self, branch)

    monkeypatch.setattr(LocalRegionLayer, "_f_vectorized", counting)
    x = np.random.default_rng(1).normal(size=(8, 6, 6, 3)).astype("float32")
    y = np.random.default_rng(2).integers(0, 2, size=8)
    weights = {}
    for vectorize in (False, True):
        monkeypatch.setattr(LocalRegionLayer, "_vectorized_training", vectorize)
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6, 6, 3))
        h = LocalRegionLayer(grid=3, name="region")(inputs)
        h = DRMLRegionLayer(grid=2, name="drml")(h)
        outputs = keras.layers.Dense(2)(keras.layers.Flatten()(h))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        initial_kernel = model.get_layer("region").kernel.numpy()
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        weights[vectorize] = model.get_weights()
    assert sorted(set(calls)) == ["DRMLRegionLayer", "LocalRegionLayer"]
    for vec, loop in zip(weights[True], weights[False]):
        np.testing.assert_allclose(vec, loop, rtol=1e-4, atol=1e-5)
    assert not np.allclose(weights[True][0], initial_kernel)  # the region kernels did train


def test_tflite_keeps_one_conv_per_region():
    ai_edge_litert = pytest.importorskip("ai_edge_litert.interpreter", reason="needs ai-edge-litert")
    inputs = keras.Input((6, 6, 3))
    model = keras.Model(inputs, LocalRegionLayer(grid=(2, 3))(inputs))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = ai_edge_litert.Interpreter(model_content=converter.convert())
    names = [op["op_name"] for op in interpreter._get_ops_details()]
    assert names.count("CONV_2D") == 6, names
    assert "BATCH_MATMUL" not in names and "EXTRACT_IMAGE_PATCHES" not in names, names
