"""LocalRegionLayer: independent convolutions on a grid of regions, plus a residual."""

from __future__ import annotations

from mer_tf.layers.backend import keras, ops, register


def region_bounds(size: int, parts: int) -> list[tuple[int, int]]:
    """Split `size` pixels into `parts` near-equal, contiguous, non-overlapping runs.

    The first `size % parts` runs get one pixel more, so every pixel belongs to
    exactly one region: 16 -> (0, 6), (6, 11), (11, 16) i.e. 6, 5, 5.
    """
    if parts < 1 or size < parts:
        raise ValueError(f"cannot split {size} pixels into {parts} regions: need 1 <= parts <= size")
    base, extra = divmod(size, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def _pair(value, what: str) -> tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1:
        raise ValueError(f"`{what}` must be a positive int or a pair of positive ints. Received: {what}={value}")
    return value


@register(package="mer_tf")
class LocalRegionLayer(keras.layers.Layer):
    """Local region layer of He & Kao (paper section 2, Eq. 3).

    The feature map is cut into a `grid` of regions (3x3 by default: eyes,
    nose and mouth bands of an aligned face). Each region gets its own
    convolution ('same' padding, as many filters as input channels; kernel
    `self.kernel[k]` for region k, row-major), the outputs
    are stitched back in place, and the input is added: `y = x + f(x)`.
    Sides that do not divide by the grid give near-equal regions that cover
    every pixel once (16 -> 6, 5, 5). Only slices, convolutions, a
    concatenation and an add: it converts to TFLite builtin ops (one
    CONV_2D per region, with constant weights).

    Args:
        grid: int or (rows, cols). Number of regions along height and width.
        kernel_size: int or pair. Kernel of every region convolution.
        activation: activation applied to each region convolution, i.e. to
            f(x) before the residual add. Default "relu": the layer is
            followed by flatten and dense layers, so a purely linear f (a
            per-region linear re-mix of x) would add nothing the dense layer
            cannot already express; the ReLU makes f a real local correction.
            Use None for the literal linear Eq. 3.
        use_bias: whether region convolutions have a bias.
        kernel_initializer: initializer of the region kernels. Note that
            "zeros" together with a ReLU gives zero gradients (ReLU'(0) = 0),
            so zero-init is only useful with `activation=None` or for tests.
        bias_initializer: initializer of the region biases.
        kernel_regularizer: optional regularizer of the region kernels.
        **kwargs: standard layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: a (batch, height, width, channels) tensor with static height
            and width of at least the grid size.

    Example:
    ```python
    x = keras.Input((16, 16, 8))
    y = LocalRegionLayer(grid=3)(x)  # (None, 16, 16, 8); regions 6, 5, 5
    ```

    Reference:
        He & Kao, "Micro-Expression Recognition by Using Convolutional Neural
        Network", Eq. 3; region layer idea after Zhao et al., CVPR 2016 (DRML).
    """

    def __init__(
        self,
        grid=3,
        kernel_size=3,
        activation="relu",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.grid = _pair(grid, "grid")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def _check_input_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                f"{type(self).__name__} expects a 4-D input (batch, height, width, channels). "
                f"Received: input_shape={shape}"
            )
        _, height, width, channels = shape
        if height is None or width is None or channels is None:
            raise ValueError(
                f"{type(self).__name__} needs a static height, width and channel count. Received: input_shape={shape}"
            )
        if height < self.grid[0] or width < self.grid[1]:
            raise ValueError(
                f"{type(self).__name__} grid={self.grid} is larger than the feature map "
                f"{height}x{width} (input_shape={shape}): use a grid of at most {height}x{width}, "
                "fewer pooling layers or a larger input."
            )
        return int(height), int(width), int(channels)

    def build(self, input_shape):
        height, width, channels = self._check_input_shape(input_shape)
        self.row_bounds = region_bounds(height, self.grid[0])
        self.col_bounds = region_bounds(width, self.grid[1])
        regions = self.grid[0] * self.grid[1]
        region_kernel = (*self.kernel_size, channels, channels)
        # One variable holds all region kernels, (regions, kh, kw, C, C), row-major
        # regions: independent weights per region, but 2 variables instead of
        # 2 per region (one Conv2D sublayer per region made Keras 3 spend
        # ~20 s building the optimizer graph for an 8x8 grid). Each region is
        # initialized on its own so fan-in/fan-out are those of one 3x3 conv.
        self.kernel = self.add_weight(
            name="kernel",
            shape=(regions, *region_kernel),
            initializer=lambda shape, dtype=None: ops.stack(
                [self._region_initializer(k)(region_kernel, dtype=dtype) for k in range(shape[0])]
            ),
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(regions, channels), initializer=self.bias_initializer
            )
        self.built = True

    def _region_initializer(self, k: int):
        """A fresh copy of `kernel_initializer` for region k.

        One instance called repeatedly returns the same values (tf_keras for
        unseeded, both Keras versions for int seeds), which would start all
        regions identical; a seeded initializer gets seed + k.
        """
        config = keras.initializers.serialize(self.kernel_initializer)
        if isinstance(config, dict) and isinstance(config.get("config", {}).get("seed"), int):
            config = {**config, "config": {**config["config"], "seed": config["config"]["seed"] + k}}
        return keras.initializers.deserialize(config)

    def _region_f(self, k, region):
        """f on region number `k` (row-major): its own 'same' convolution, bias, activation."""
        out = ops.conv(region, self.kernel[k], strides=1, padding="same")
        if self.use_bias:
            out = ops.add(out, self.bias[k])
        return self.activation(out) if self.activation is not None else out

    def _branch_input(self, inputs, training):
        """What the region convolutions see; subclasses transform it (see DRMLRegionLayer)."""
        return inputs

    def call(self, inputs, training=None):
        branch = self._branch_input(inputs, training)
        cells = [(rows, cols) for rows in self.row_bounds for cols in self.col_bounds]  # row-major, as the kernels
        outs = [
            self._region_f(k, branch[:, h0:h1, w0:w1, :])  # (B, h_i, w_j, C)
            for k, ((h0, h1), (w0, w1)) in enumerate(cells)
        ]
        cols = len(self.col_bounds)
        rows = [outs[r * cols : (r + 1) * cols] for r in range(len(self.row_bounds))]
        rows = [row[0] if len(row) == 1 else ops.concatenate(row, axis=2) for row in rows]
        f = rows[0] if len(rows) == 1 else ops.concatenate(rows, axis=1)  # (B, H, W, C)
        return ops.add(inputs, f)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "grid": self.grid,
                "kernel_size": self.kernel_size,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            }
        )
        return config
