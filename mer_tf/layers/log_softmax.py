"""LogSoftmax: the model's output layer (paper Eq. 6)."""

from __future__ import annotations

from mer_tf.layers.backend import keras, ops, register


@register(package="mer_tf")
class LogSoftmax(keras.layers.Layer):
    """Log-probabilities from logits: `log(exp(z_i) / sum_j exp(z_j))` (paper Eq. 6).

    A layer of its own (rather than `Activation("log_softmax")`) so that it
    has the same name and behaviour on Keras 3 and tf_keras, and so that every
    model ends in one clearly named output layer. Converts to the TFLite
    builtin LOG_SOFTMAX.

    Args:
        axis: the class axis.
        **kwargs: standard layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: logits, (batch, num_classes).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return ops.log_softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
