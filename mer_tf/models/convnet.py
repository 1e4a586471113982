"""ConvNet baseline: LeNet-5 style (LeCun et al. 1998)."""

from __future__ import annotations

from mer_tf.layers.backend import keras
from mer_tf.models.head import log_softmax_head
from mer_tf.models.validation import check_input_shape, check_min_side, check_num_classes


def build_convnet(input_shape=(64, 64, 3), num_classes: int = 7, name: str = "convnet", dropout: float = 0.0):
    """A LeNet-5 style ConvNet (paper Table 3 baseline).

    LeNet-5's layers as published: conv 5x5 x6 ('valid'), 2x2 pooling, conv
    5x5 x16, 2x2 pooling, FC 120, FC 84, classifier; with ReLU and max
    pooling in place of the scaled tanh and trainable average subsampling
    (the usual modern reading), and the shared LogSoftmax head. On a 32x32
    input this is the original geometry (28 -> 14 -> 10 -> 5).

    Args:
        input_shape: (height, width, 3); both sides at least 16.
        num_classes: number of classes.
        name: model name and layer-name prefix.
        dropout: dropout before the FC layers; 0 (LeNet-5 had none).
    """
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    check_min_side(shape, 16, "the LeNet-5 ConvNet (two 5x5 'valid' convs and two 2x2 pools)")
    inputs = keras.Input(shape=shape, name=f"{name}_input")
    x = keras.layers.Conv2D(6, 5, activation="relu", name=f"{name}_conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    x = keras.layers.Conv2D(16, 5, activation="relu", name=f"{name}_conv2")(x)
    x = keras.layers.MaxPooling2D(2, name=f"{name}_pool2")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = keras.layers.Dense(120, activation="relu", name=f"{name}_fc1")(x)
    x = keras.layers.Dense(84, activation="relu", name=f"{name}_fc2")(x)
    return keras.Model(inputs, log_softmax_head(x, num_classes, name), name=name)
