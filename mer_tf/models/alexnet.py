"""AlexNet baseline (Krizhevsky et al. 2012), scaled to the face-crop input."""

from __future__ import annotations

from mer_tf.layers.backend import keras
from mer_tf.models.head import log_softmax_head
from mer_tf.models.validation import check_input_shape, check_min_side, check_num_classes


def build_alexnet(input_shape=(64, 64, 3), num_classes: int = 7, name: str = "alexnet", dropout: float = 0.5):
    """AlexNet's layer pattern at 1/4 width for a small face crop (paper Table 3 baseline).

    AlexNet on 227x227: conv 11x11/4 x96, pool 3/2, conv 5x5 x256, pool 3/2,
    conv 3x3 x384, x384, x256, pool 3/2, FC 4096, FC 4096. Here: the same
    sequence with 1/4 of the filters (24, 64, 96, 96, 64) and FC 512, 512
    (tiny data sets), and a 5x5 stride-2 stem instead of 11x11 stride 4, since
    the input is ~3.5x smaller (64 -> 32 -> 16 -> 8 -> 4 after the three
    overlapping 3x3/2 pools, about AlexNet's 6x6 final map). 'same' padding
    throughout; no local response normalization (Keras has no such layer,
    and it was later found to add little).

    Args:
        input_shape: (height, width, 3); both sides at least 16.
        num_classes: number of classes.
        name: model name and layer-name prefix.
        dropout: dropout rate before each FC layer (AlexNet's 0.5).
    """
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    check_min_side(shape, 16, "AlexNet (stride-2 stem and three stride-2 pools)")
    conv = keras.layers.Conv2D
    pool = keras.layers.MaxPooling2D
    inputs = keras.Input(shape=shape, name=f"{name}_input")
    x = conv(24, 5, strides=2, padding="same", activation="relu", name=f"{name}_conv1")(inputs)
    x = pool(3, strides=2, padding="same", name=f"{name}_pool1")(x)
    x = conv(64, 5, padding="same", activation="relu", name=f"{name}_conv2")(x)
    x = pool(3, strides=2, padding="same", name=f"{name}_pool2")(x)
    x = conv(96, 3, padding="same", activation="relu", name=f"{name}_conv3")(x)
    x = conv(96, 3, padding="same", activation="relu", name=f"{name}_conv4")(x)
    x = conv(64, 3, padding="same", activation="relu", name=f"{name}_conv5")(x)
    x = pool(3, strides=2, padding="same", name=f"{name}_pool3")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    for i in (1, 2):
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
        x = keras.layers.Dense(512, activation="relu", name=f"{name}_fc{i}")(x)
    return keras.Model(inputs, log_softmax_head(x, num_classes, name), name=name)
