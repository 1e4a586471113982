"""Mirror: the left-right mirror image of a model input, flow fields turned with it."""

from __future__ import annotations

import numpy as np

from mer_tf.layers.backend import keras, ops, register

MODES = ("apex", "flow", "flow_image")


@register(package="mer_tf")
class Mirror(keras.layers.Layer):
    """Flips (batch, H, W, C) images left-right, as the training augmentation does.

    A mirrored face is a plausible face; a mirrored flow field is the
    mirrored motion only if its horizontal component changes sign too:

    - "apex": the pixels only.
    - "flow": (u, v, strain) in their own units: u -> -u.
    - "flow_image": each channel min-max scaled to [0, 1] (the MEGC 2019
      release's images): minmax(-u) = 1 - minmax(u), exactly.

    Used by `mer_tf.models.flip_average` to predict on both the image and its
    mirror image. Converts to the TFLite builtins REVERSE_V2, MUL and ADD.

    Args:
        mode: the input mode, one of "apex", "flow", "flow_image".
        **kwargs: standard layer arguments (`name`, `dtype`).
    """

    def __init__(self, mode="apex", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        self.mode = mode

    def call(self, inputs):
        x = inputs
        if self.mode != "apex":
            x = x * np.array([-1.0, 1.0, 1.0], np.float32)
            if self.mode == "flow_image":
                x = x + np.array([1.0, 0.0, 0.0], np.float32)
        # the flip last: an int8 REVERSE_V2 copies bytes, so its input and output must share one scale; fed the
        # [0, 1] input directly, the converter gave its output the [-1, 1] scale of the MUL after it, and the
        # mirrored branch read every pixel wrong (on the MEGC 2019 release int8 agreed with float32 on 90.5 %
        # of 442 samples; flipped last, 99.5 %)
        return ops.flip(x, axis=2)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
