"""LocalRegionLayer, DRMLRegionLayer, LocallyConnected2D, LogSoftmax: shapes, maths, config, gradients."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="the layers need TensorFlow (extra [train])")

from mer_tf.layers import DRMLRegionLayer, LocallyConnected2D, LocalRegionLayer, LogSoftmax, region_bounds  # noqa: E402


def _x(shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


@pytest.mark.parametrize(
    "size,parts,expected",
    [(16, 3, [6, 5, 5]), (9, 3, [3, 3, 3]), (17, 3, [6, 6, 5]), (8, 8, [1] * 8), (7, 1, [7]), (10, 4, [3, 3, 2, 2])],
)
def test_region_bounds_cover_every_pixel_once(size, parts, expected):
    bounds = region_bounds(size, parts)
    assert [b - a for a, b in bounds] == expected
    assert bounds[0][0] == 0 and bounds[-1][1] == size
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(parts - 1))


@pytest.mark.parametrize(
    "hw,channels,grid",
    [((9, 9), 4, 3), ((16, 16), 8, 3), ((17, 13), 3, (3, 2)), ((8, 8), 2, 8), ((5, 7), 4, 1), ((32, 32), 4, 4)],
)
def test_output_shape_dtype_and_region_maths(hw, channels, grid):
    layer = LocalRegionLayer(grid=grid)
    x = _x((2, *hw, channels))
    y = layer(x)
    assert tuple(y.shape) == x.shape
    assert y.dtype == tf.float32
    assert layer.compute_output_shape((None, *hw, channels)) == (None, *hw, channels)
    # every region is its own 'same' convolution + bias + ReLU, stitched in place, plus x
    k = 0
    for h0, h1 in layer.row_bounds:
        for w0, w1 in layer.col_bounds:
            region = x[:, h0:h1, w0:w1, :]
            conv = tf.nn.conv2d(region, layer.kernel[k], 1, "SAME") + layer.bias[k]
            np.testing.assert_allclose(y[:, h0:h1, w0:w1, :], region + tf.nn.relu(conv), atol=1e-5)
            k += 1
    assert k == layer.kernel.shape[0]


def test_float64_layer_gives_float64():
    y = LocalRegionLayer(dtype="float64")(_x((1, 9, 9, 2), dtype="float64"))
    assert y.dtype == tf.float64


@pytest.mark.parametrize("activation", ["relu", None])
def test_zero_initialized_region_convolutions_are_the_identity(activation):
    layer = LocalRegionLayer(grid=3, activation=activation, kernel_initializer="zeros", bias_initializer="zeros")
    x = _x((3, 16, 16, 5))
    np.testing.assert_array_equal(layer(x).numpy(), x)


def test_gradients_reach_every_region_convolution():
    layer = LocalRegionLayer(grid=(3, 3), activation=None)
    x = tf.constant(_x((2, 16, 16, 4)))
    weights = tf.constant(_x((2, 16, 16, 4), seed=1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * weights)
    grad_kernel, grad_bias = tape.gradient(loss, [layer.kernel, layer.bias])
    per_region = np.abs(grad_kernel.numpy()).reshape(9, -1).sum(axis=1)
    assert np.all(per_region > 0), per_region
    assert np.all(np.abs(grad_bias.numpy()).sum(axis=1) > 0)


def test_config_round_trip_and_same_output():
    layer = LocalRegionLayer(grid=(2, 3), kernel_size=(3, 1), activation="tanh", use_bias=False, name="lr")
    x = _x((1, 10, 12, 3))
    y = layer(x)
    clone = LocalRegionLayer.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), y.numpy())


def test_bad_inputs_name_the_value():
    with pytest.raises(ValueError, match=r"grid=\(3, 3\).*larger than the feature map 2x2"):
        LocalRegionLayer(grid=3)(_x((1, 2, 2, 4)))
    with pytest.raises(ValueError, match=r"4-D input.*\(1, 9, 9\)"):
        LocalRegionLayer().build((1, 9, 9))
    with pytest.raises(ValueError, match="grid=.*0"):
        LocalRegionLayer(grid=0)


def test_drml_region_layer_normalizes_per_region():
    layer = DRMLRegionLayer(grid=2, kernel_initializer="zeros")  # f = 0: output equals input
    x = _x((4, 8, 8, 3)) + np.arange(64, dtype="float32").reshape(1, 8, 8, 1)  # regions differ in mean
    np.testing.assert_allclose(layer(x, training=True).numpy(), x, atol=1e-6)
    # training moved each region's moving mean 1% towards that region's own batch mean
    expected = np.stack([x[:, h0:h1, w0:w1].mean(axis=(0, 1, 2)) for h0, h1 in layer.row_bounds
                         for w0, w1 in layer.col_bounds]) * 0.01
    np.testing.assert_allclose(layer.moving_mean.numpy(), expected, rtol=1e-4)
    # each region is normalized with its own batch statistics (DRML: BN per patch), then ReLU
    branch = layer._branch_input(x, True).numpy()
    for h0, h1 in layer.row_bounds:
        for w0, w1 in layer.col_bounds:
            region = x[:, h0:h1, w0:w1]
            normed = (region - region.mean(axis=(0, 1, 2))) / np.sqrt(region.var(axis=(0, 1, 2)) + 1e-3)
            np.testing.assert_allclose(branch[:, h0:h1, w0:w1], np.maximum(normed, 0), atol=1e-4)
    # gradients reach every region's gamma/beta and kernel
    layer2 = DRMLRegionLayer(grid=2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer2(tf.constant(x), training=True) ** 2)
    grads = tape.gradient(loss, [layer2.kernel, layer2.gamma, layer2.beta])
    for g in grads:
        assert np.all(np.abs(g.numpy()).reshape(4, -1).sum(axis=1) > 0)


@pytest.mark.parametrize("kernel,strides,hw", [(3, 1, (6, 6)), (5, 2, (16, 13)), ((2, 3), (1, 2), (7, 9))])
def test_locally_connected_matches_numpy(kernel, strides, hw):
    layer = LocallyConnected2D(4, kernel, strides=strides)
    x = _x((2, *hw, 3))
    y = layer(x).numpy()
    (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
    oh, ow = (hw[0] - kh) // sh + 1, (hw[1] - kw) // sw + 1
    assert y.shape == (2, oh, ow, 4) == layer.compute_output_shape((2, *hw, 3))
    kernel_np, bias_np = layer.kernel.numpy(), layer.bias.numpy()
    for i in range(oh):
        for j in range(ow):
            patch = np.concatenate([x[:, i * sh + a, j * sw + b, :] for a in range(kh) for b in range(kw)], axis=-1)
            np.testing.assert_allclose(y[:, i, j], patch @ kernel_np[i * ow + j] + bias_np[i, j], atol=1e-5)
    clone = LocallyConnected2D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_locally_connected_rejects_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"kernel_size=\(5, 5\).*4x4"):
        LocallyConnected2D(2, 5)(_x((1, 4, 4, 1)))


def test_log_softmax_gives_log_probabilities():
    z = _x((5, 7))
    out = LogSoftmax()(z).numpy()
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out, z - np.log(np.exp(z).sum(axis=1, keepdims=True)), atol=1e-5)


@pytest.mark.parametrize("initializer", ["glorot_uniform", {"class_name": "GlorotUniform", "config": {"seed": 3}}])
def test_regions_start_with_different_kernels(initializer):
    # one initializer instance called 9 times can return 9 identical kernels (seeded, or tf_keras)
    layer = LocalRegionLayer(kernel_initializer=initializer)
    layer.build((None, 9, 9, 4))
    kernels = np.asarray(layer.kernel)
    assert len({kernels[k].tobytes() for k in range(9)}) == 9
    # each region is scaled like one 3x3x4->4 convolution: glorot limit sqrt(6 / (36 + 36))
    assert np.abs(kernels).max() <= np.sqrt(6 / 72) + 1e-6
    assert np.abs(kernels).max() > 0.8 * np.sqrt(6 / 72)
