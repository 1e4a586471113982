"""The one place that knows which Keras the layers and model builders run on.

Everything in `mer_tf.layers` and `mer_tf.models` is written against the three
names exported here, never against `keras` or `tf_keras` directly:

- `keras`: Keras 3 normally; tf_keras (Keras 2) when the process runs with
  `TF_USE_LEGACY_KERAS=1` (what tensorflow-model-optimization needs for
  quantization-aware training, see STACK.md) or when `MER_TF_KERAS=tf_keras`
  asks for it explicitly (`MER_TF_KERAS=keras` forces Keras 3).
- `ops`: the few tensor operations the layers and the loss use, with Keras 3's
  `keras.ops` signatures (on tf_keras a small shim over `tf.*`).
- `register`: the serialization decorator, used as
  `@register(package="mer_tf")`, so that a saved model reloads without
  `custom_objects`.

The choice is made once, at import time: a class must subclass one concrete
`Layer`. Code that wants tf_keras must set the environment variable before its
first `import mer_tf.layers` (importing tensorflow_model_optimization first
does that, it sets `TF_USE_LEGACY_KERAS=1`).
"""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes", "on"}


def _wants_legacy() -> bool:
    choice = os.environ.get("MER_TF_KERAS", "").strip().lower()
    if choice in ("tf_keras", "legacy", "keras2"):
        return True
    if choice in ("keras", "keras3"):
        return False
    if choice:
        raise ValueError(
            f"MER_TF_KERAS must be 'keras' (Keras 3) or 'tf_keras' (Keras 2). Received: MER_TF_KERAS={choice!r}"
        )
    return os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in _TRUE


LEGACY = _wants_legacy()

if LEGACY:
    import tensorflow as tf
    import tf_keras as keras

    class _LegacyOps:
        """`keras.ops`-compatible subset for tf_keras (Keras 2 has no `ops`)."""

        @staticmethod
        def concatenate(xs, axis=0):
            return tf.concat(list(xs), axis=axis)

        @staticmethod
        def stack(xs, axis=0):
            return tf.stack(list(xs), axis=axis)

        @staticmethod
        def conv(inputs, kernel, strides=1, padding="valid"):
            return tf.nn.convolution(inputs, kernel, strides=strides, padding=padding.upper())

        @staticmethod
        def mean(x, axis=None, keepdims=False):
            return tf.reduce_mean(x, axis=axis, keepdims=keepdims)

        @staticmethod
        def var(x, axis=None, keepdims=False):
            return tf.math.reduce_variance(x, axis=axis, keepdims=keepdims)

        @staticmethod
        def einsum(subscripts, *operands):
            return tf.einsum(subscripts, *operands)

        @staticmethod
        def pad(x, pad_width, mode="constant", constant_values=None):
            return tf.pad(x, pad_width, mode=mode.upper(), constant_values=constant_values or 0)

        @staticmethod
        def maximum(x1, x2):
            return tf.maximum(x1, x2)

        @staticmethod
        def rsqrt(x):
            return tf.math.rsqrt(x)

        @staticmethod
        def add(x1, x2):
            return tf.add(x1, x2)

        @staticmethod
        def flip(x, axis=None):
            return tf.reverse(x, [axis])

        @staticmethod
        def log_softmax(x, axis=-1):
            return tf.nn.log_softmax(x, axis=axis)

        @staticmethod
        def one_hot(x, num_classes, dtype="float32"):
            return tf.one_hot(x, num_classes, dtype=dtype)

        @staticmethod
        def sum(x, axis=None):
            return tf.reduce_sum(x, axis=axis)

        @staticmethod
        def cast(x, dtype):
            return tf.cast(x, dtype)

        @staticmethod
        def reshape(x, newshape):
            return tf.reshape(x, newshape)

        @staticmethod
        def transpose(x, axes=None):
            return tf.transpose(x, perm=axes)

        @staticmethod
        def matmul(x1, x2):
            return tf.matmul(x1, x2)

    ops = _LegacyOps()
    register = keras.utils.register_keras_serializable
else:
    import keras

    ops = keras.ops
    register = keras.saving.register_keras_serializable

__all__ = ["LEGACY", "keras", "ops", "register"]
