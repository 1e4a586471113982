"""DRMLRegionLayer: the region layer of Zhao et al. (DRML, CVPR 2016)."""

from __future__ import annotations

import numpy as np

from mer_tf.layers.backend import keras, ops, register
from mer_tf.layers.local_region_layer import LocalRegionLayer


@register(package="mer_tf")
class DRMLRegionLayer(LocalRegionLayer):
    """Region layer of Deep Region and Multi-label Learning (Zhao et al. 2016).

    Like `LocalRegionLayer` (a grid of regions, independent weights per
    region, residual add), but each region's branch is DRML's: batch
    normalization with the region's own statistics and parameters, ReLU,
    then a linear convolution (`y_r = x_r + conv_r(relu(bn_r(x_r)))`), on an
    8x8 grid by default as in the DRML paper.

    The per-region normalization is computed for all regions at once: region
    sums are two small matrix products with 0/1 membership matrices
    (rows x H and cols x W), and the per-region scale and shift are spread
    back to a (H, W, C) map the same way. 64 separate normalizations made
    Keras 3 spend ~40 s building the training graph; this takes a few ops,
    and at inference the maps are constants (TFLite: one MUL and one ADD).

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
        # 0/1 membership: row_member[i, h] = 1 when pixel row h is in region row i.
        self.row_member = np.zeros((self.grid[0], int(input_shape[1])), "float32")
        for i, (h0, h1) in enumerate(self.row_bounds):
            self.row_member[i, h0:h1] = 1.0
        self.col_member = np.zeros((self.grid[1], int(input_shape[2])), "float32")
        for j, (w0, w1) in enumerate(self.col_bounds):
            self.col_member[j, w0:w1] = 1.0
        self.region_pixels = np.outer(self.row_member.sum(1), self.col_member.sum(1))[..., None]  # (gh, gw, 1)
        self.built = True

    def _region_average(self, pixel_map):
        """(H, W, C) -> (gh, gw, C): the average of the map over each region."""
        sums = ops.einsum("ih,hwc,jw->ijc", self.row_member, pixel_map, self.col_member)
        return sums / self.region_pixels

    def _spread(self, per_region):
        """(gh, gw, C) -> (H, W, C): every pixel gets its region's value."""
        return ops.einsum("ih,ijc,jw->hwc", self.row_member, per_region, self.col_member)

    def _branch_input(self, inputs, training):
        gh, gw = self.grid
        channels = self.gamma.shape[-1]
        if training:
            mean = self._region_average(ops.mean(inputs, axis=0))  # (gh, gw, C)
            mean_sq = self._region_average(ops.mean(inputs * inputs, axis=0))
            var = ops.maximum(mean_sq - mean * mean, 0.0)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + ops.reshape(mean, (gh * gw, channels)) * (1.0 - m))
            self.moving_variance.assign(
                self.moving_variance * m + ops.reshape(var, (gh * gw, channels)) * (1.0 - m)
            )
        else:
            mean = ops.reshape(self.moving_mean, (gh, gw, channels))
            var = ops.reshape(self.moving_variance, (gh, gw, channels))
        scale = ops.reshape(self.gamma, (gh, gw, channels)) * ops.rsqrt(var + self.epsilon)
        shift = ops.reshape(self.beta, (gh, gw, channels)) - mean * scale
        return keras.activations.relu(inputs * self._spread(scale) + self._spread(shift))  # (B, H, W, C)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "epsilon": self.epsilon})
        return config
