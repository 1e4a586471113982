"""LCN baseline: a locally connected network after Coates, Lee & Ng (2011)."""

from __future__ import annotations

from mer_tf.layers import LocallyConnected2D
from mer_tf.layers.backend import keras
from mer_tf.models.head import log_softmax_head
from mer_tf.models.validation import check_input_shape, check_min_side, check_num_classes


def build_lcn(input_shape=(64, 64, 3), num_classes: int = 7, name: str = "lcn", dropout: float = 0.5):
    """Single-layer locally connected network (paper Table 3 baseline).

    Coates et al. 2011: one layer of features computed on every small patch
    (6x6, learned without labels), rectified, pooled, then a linear
    classifier. Here the feature layer is a `LocallyConnected2D` (16 filters,
    5x5 patches, stride 2, unshared weights per position: the "locally
    connected" part, trained end to end rather than by k-means), ReLU,
    2x2 max pooling, dropout, and the shared LogSoftmax head as the linear
    classifier.

    Args:
        input_shape: (height, width, 3); both sides at least 16.
        num_classes: number of classes.
        name: model name and layer-name prefix.
        dropout: dropout before the classifier.
    """
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    check_min_side(shape, 16, "the LCN (5x5 stride-2 locally connected layer and 2x2 pooling)")
    inputs = keras.Input(shape=shape, name=f"{name}_input")
    x = LocallyConnected2D(16, 5, strides=2, activation="relu", name=f"{name}_local1")(inputs)
    x = keras.layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return keras.Model(inputs, log_softmax_head(x, num_classes, name), name=name)
