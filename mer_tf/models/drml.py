"""DRML baseline (Zhao et al., CVPR 2016), scaled to the face-crop input."""

from __future__ import annotations

from mer_tf.layers import DRMLRegionLayer
from mer_tf.layers.backend import keras
from mer_tf.models.head import log_softmax_head
from mer_tf.models.validation import check_input_shape, check_min_side, check_num_classes


def build_drml(input_shape=(64, 64, 3), num_classes: int = 7, name: str = "drml", dropout: float = 0.5):
    """Deep Region and Multi-label Learning network, single-label head (paper Table 3 baseline).

    DRML on 170x170 input: conv 11x11x32, region layer (8x8 patches, each
    BN-ReLU-conv with a residual), max pool, four convs (8x8, 8x8, 6x6, 5x5,
    16 filters), FC 4096, FC 2048. Scaled here by the input ratio (64/170 ~
    0.38): conv 5x5x32, the same 8x8 region layer, 2x2 max pool, four 3x3x16
    'valid' convs, FC 512, FC 256 (both with dropout), then the shared
    LogSoftmax head instead of DRML's multi-label sigmoid.

    Args:
        input_shape: (height, width, 3); both sides at least 22.
        num_classes: number of classes.
        name: model name and layer-name prefix.
        dropout: dropout rate before each FC layer.
    """
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    # 5x5 valid conv -> 8x8 grid needs >= 8; pool then four 3x3 valid convs need >= 9 after pooling.
    check_min_side(shape, 22, "DRML (5x5 conv, 8x8 region grid, 2x2 pool, four 3x3 'valid' convs)")
    inputs = keras.Input(shape=shape, name=f"{name}_input")
    x = keras.layers.Conv2D(32, 5, activation="relu", name=f"{name}_conv1")(inputs)
    x = DRMLRegionLayer(grid=8, name=f"{name}_region")(x)
    x = keras.layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    for i in range(2, 6):
        x = keras.layers.Conv2D(16, 3, activation="relu", name=f"{name}_conv{i}")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    for i, units in enumerate((512, 256), start=1):
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
        x = keras.layers.Dense(units, activation="relu", name=f"{name}_fc{i}")(x)
    return keras.Model(inputs, log_softmax_head(x, num_classes, name), name=name)
