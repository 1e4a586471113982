"""The output head every model shares: class logits, then LogSoftmax."""

from __future__ import annotations

from mer_tf.layers import LogSoftmax
from mer_tf.layers.backend import keras


def log_softmax_head(x, num_classes: int, name: str):
    """Dense(num_classes) logits and a LogSoftmax output layer named `{name}_log_softmax`.

    The same head on ECCNN and every baseline, so all train with `nll_loss`
    and export the same way (the output tensor holds log-probabilities).
    """
    logits = keras.layers.Dense(num_classes, name=f"{name}_logits")(x)
    return LogSoftmax(name=f"{name}_log_softmax")(logits)
