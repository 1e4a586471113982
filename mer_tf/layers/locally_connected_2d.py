"""LocallyConnected2D: a convolution with unshared weights, from TFLite builtin ops."""

from __future__ import annotations

from mer_tf.layers.backend import keras, ops, register
from mer_tf.layers.local_region_layer import _pair


@register(package="mer_tf")
class LocallyConnected2D(keras.layers.Layer):
    """2D locally connected layer: like `Conv2D` ('valid'), but every output position has its own kernel.

    Keras 3 dropped `LocallyConnected2D`. This one is built from ops that
    TFLite runs as builtins: the kernel_h * kernel_w shifted, strided slices
    of the input are concatenated into patches (B, oh, ow, kh*kw*C), and one
    batched matrix product applies the per-position kernels
    (STRIDED_SLICE, CONCATENATION, RESHAPE, TRANSPOSE, BATCH_MATMUL, ADD).
    No `extract_patches` (a Flex op in TFLite).

    Args:
        filters: number of output channels.
        kernel_size: int or pair.
        strides: int or pair. Default 1.
        activation: activation after the bias. Default None.
        use_bias: whether to add a per-position bias.
        kernel_initializer: initializer of the (oh*ow, kh*kw*C, filters) kernel.
        bias_initializer: initializer of the (oh, ow, filters) bias.
        kernel_regularizer: optional regularizer of the kernel.
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: (batch, height, width, channels) with static height, width
            and channels, height >= kernel_h and width >= kernel_w.

    Reference:
        A. Coates, H. Lee, A. Y. Ng, "An Analysis of Single-Layer Networks in
        Unsupervised Feature Learning", AISTATS 2011 (locally connected
        features as the LCN baseline).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(filters) < 1:
            raise ValueError(f"`filters` must be a positive int. Received: filters={filters}")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def _output_hw(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4 or any(d is None for d in shape[1:]):
            raise ValueError(
                "LocallyConnected2D expects a 4-D input with static height, width and channels. "
                f"Received: input_shape={shape}"
            )
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        height, width = int(shape[1]), int(shape[2])
        if height < kh or width < kw:
            raise ValueError(
                f"LocallyConnected2D kernel_size={self.kernel_size} is larger than the input "
                f"{height}x{width} (input_shape={shape}): use a smaller kernel or a larger input."
            )
        return (height - kh) // sh + 1, (width - kw) // sw + 1

    def build(self, input_shape):
        self.out_height, self.out_width = self._output_hw(input_shape)
        channels = int(input_shape[-1])
        patch = self.kernel_size[0] * self.kernel_size[1] * channels
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.out_height * self.out_width, patch, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.out_height, self.out_width, self.filters), initializer=self.bias_initializer
            )
        self.built = True

    def call(self, inputs):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        oh, ow = self.out_height, self.out_width
        pieces = [
            inputs[:, di : di + sh * (oh - 1) + 1 : sh, dj : dj + sw * (ow - 1) + 1 : sw, :]  # (B, oh, ow, C)
            for di in range(kh)
            for dj in range(kw)
        ]
        patches = ops.concatenate(pieces, axis=-1)  # (B, oh, ow, kh*kw*C)
        patches = ops.reshape(patches, (-1, oh * ow, self.kernel.shape[1]))  # (B, L, P)
        out = ops.matmul(ops.transpose(patches, (1, 0, 2)), self.kernel)  # (L, B, F)
        out = ops.reshape(ops.transpose(out, (1, 0, 2)), (-1, oh, ow, self.filters))  # (B, oh, ow, F)
        if self.use_bias:
            out = ops.add(out, self.bias)
        return self.activation(out) if self.activation is not None else out

    def compute_output_shape(self, input_shape):
        oh, ow = self._output_hw(input_shape)
        return (input_shape[0], oh, ow, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            }
        )
        return config
