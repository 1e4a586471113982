"""STSTNet, the MEGC 2019 peer model (Liong et al. 2019), re-implemented for paired comparisons."""

from __future__ import annotations

from mer_tf.layers.backend import keras
from mer_tf.models.head import log_softmax_head
from mer_tf.models.validation import check_input_shape, check_min_side, check_num_classes

STREAM_FILTERS = (3, 5, 8)


def build_ststnet(input_shape=(28, 28, 3), num_classes: int = 3, name: str = "ststnet", dropout: float = 0.5):
    """Shallow Triple Stream Three-dimensional CNN (STSTNet; Liong, See, Wong & Phan, FG 2019).

    The "three-dimensional" input is the u, v, optical-strain image (the
    release's 28x28 flow images are the ones STSTNet was trained on).
    Three shallow streams read the whole 3-channel image, each one 3x3
    convolution (3, 5 and 8 filters, zero padding 2), ReLU, batch
    normalization, 3x3 max pooling with stride 3 and dropout; their maps are
    concatenated (16 channels), 2x2 average pooled, flattened (5x5x16 = 400
    at 28 px) and classified by one dense layer. This follows the authors'
    MATLAB network as the HTNet authors' public PyTorch code transcribes it.
    One difference of reading: PyTorch's max pooling pads one pixel each side
    and drops the last column (30 -> 10); Keras "same" pooling needs no
    padding at 30 px and covers every column (30 -> 10). The shared
    LogSoftmax head replaces the softmax, so STSTNet trains with the same
    NLL loss and exports the same way as ECCNN.

    Args:
        input_shape: (height, width, 3); both sides at least 4.
        num_classes: number of classes (3 for MEGC 2019).
        name: model name and layer-name prefix.
        dropout: dropout after each stream's pooling (0.5, as published).
    """
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    check_min_side(shape, 4, "STSTNet (3x3 stride-3 and 2x2 pooling after a padded 3x3 convolution)")
    inputs = keras.Input(shape=shape, name=f"{name}_input")
    padded = keras.layers.ZeroPadding2D(2, name=f"{name}_pad")(inputs)
    streams = []
    for i, filters in enumerate(STREAM_FILTERS, start=1):
        x = keras.layers.Conv2D(filters, 3, activation="relu", name=f"{name}_stream{i}_conv")(padded)
        x = keras.layers.BatchNormalization(name=f"{name}_stream{i}_bn")(x)
        x = keras.layers.MaxPooling2D(3, strides=3, padding="same", name=f"{name}_stream{i}_pool")(x)
        streams.append(keras.layers.Dropout(dropout, name=f"{name}_stream{i}_dropout")(x))
    x = keras.layers.Concatenate(name=f"{name}_concat")(streams)
    x = keras.layers.AveragePooling2D(2, name=f"{name}_avgpool")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    return keras.Model(inputs, log_softmax_head(x, num_classes, name), name=name)
