"""DRMLRegionLayer: the region layer of Zhao et al. (DRML, CVPR 2016)."""

from __future__ import annotations

from mer_tf.layers.backend import keras, ops, register
from mer_tf.layers.local_region_layer import LocalRegionLayer


@register(package="mer_tf")
class DRMLRegionLayer(LocalRegionLayer):
    """Region layer of Deep Region and Multi-label Learning (Zhao et al. 2016).

    Like `LocalRegionLayer` (a grid of regions, independent weights per
    region, residual add), but each region's branch is DRML's: batch
    normalization with its own statistics, ReLU, then a linear convolution
    (`y_r = x_r + conv_r(relu(bn_r(x_r)))`), on an 8x8 grid by default as in
    the DRML paper. The per-region normalization is written out here (one
    (regions, C) variable each for gamma, beta, moving mean and variance)
    rather than as 64 BatchNormalization sublayers, which would make
    Keras 3 build a very slow optimizer graph.

    Args:
        grid: int or (rows, cols). Default 8 (DRML's 8x8 patches).
        kernel_size: kernel of the region convolutions. Default 3.
        activation: after the convolution; default None (DRML's ReLU comes
            before the convolution).
        momentum: moving-statistics momentum (Keras BatchNormalization's 0.99).
        epsilon: variance epsilon (Keras BatchNormalization's 1e-3).
        **kwargs: the other `LocalRegionLayer` arguments.

    Call arguments:
        inputs: (batch, height, width, channels), height and width >= grid.
        training: True: normalize with batch statistics and update the
            moving ones; otherwise use the moving statistics.

    Reference:
        K. Zhao, W.-S. Chu, H. Zhang, "Deep Region and Multi-label Learning
        for Facial Action Unit Detection", CVPR 2016.
    """

    def __init__(self, grid=8, kernel_size=3, activation=None, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(grid=grid, kernel_size=kernel_size, activation=activation, **kwargs)
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape):
        super().build(input_shape)
        shape = (self.grid[0] * self.grid[1], int(input_shape[-1]))  # (regions, C)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=shape, initializer="ones", trainable=False
        )
        self.built = True

    def _regions_f(self, regions, training):
        if training:
            means = [ops.mean(r, axis=(0, 1, 2)) for r in regions]  # each (C,)
            variances = [ops.var(r, axis=(0, 1, 2)) for r in regions]
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + ops.stack(means) * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + ops.stack(variances) * (1.0 - m))
        else:
            means = [self.moving_mean[k] for k in range(len(regions))]
            variances = [self.moving_variance[k] for k in range(len(regions))]
        outs = []
        for k, region in enumerate(regions):
            scale = self.gamma[k] * ops.rsqrt(variances[k] + self.epsilon)  # (C,)
            hidden = (region - means[k]) * scale + self.beta[k]
            outs.append(self._region_f(k, keras.activations.relu(hidden)))
        return outs

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "epsilon": self.epsilon})
        return config
