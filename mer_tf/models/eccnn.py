"""ECCNN: the emotion classification CNN of He & Kao (paper section 2, Fig. 2)."""

from __future__ import annotations

from mer_tf.layers import LocalRegionLayer
from mer_tf.layers.backend import keras
from mer_tf.models.eccnn_options import ECCNNOptions
from mer_tf.models.head import log_softmax_head
from mer_tf.models.validation import check_input_shape, check_min_side, check_num_classes

# Provisional default input side; see benchmarks/bench_input_size.py and the report.
DEFAULT_INPUT_SIZE = 64


def build_eccnn(
    input_shape=(DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE, 3),
    num_classes: int = 7,
    name: str = "eccnn",
    options: ECCNNOptions | None = None,
    **overrides,
):
    """Build ECCNN as a functional Keras model whose output is log-probabilities.

    Layers, in the paper's order: conv blocks (3x3 conv + ReLU, the first
    `pooling_layers` of them followed by 2x2 max pooling), the local region
    layer (3x3 grid, residual), flatten, dropout, dense + ReLU, class logits,
    LogSoftmax. The region layer sits after the conv/pool stack, on the last
    feature map: the paper introduces it to recover the fine detail that
    pooling discards (section 2, and Table 2 measures it against the number
    of pooling layers), and lists it between pooling and dropout in its
    layer sequence; on a 64x64 face crop with 3 pooling layers its 3x3 grid
    then covers 8x8 cells, ~21x21 input pixels each: brows/eyes, nose,
    mouth bands.

    Args:
        input_shape: (height, width, 3).
        num_classes: number of classes (7; 3 for the MEGC view).
        name: model name and prefix of every layer name.
        options: an `ECCNNOptions`; default `ECCNNOptions()`.
        **overrides: any `ECCNNOptions` field, e.g. `pooling_layers=1`,
            `local_region=False`, `filters=(32, 64, 128)`, `dropout=0.3`,
            `dense_units=256`; they replace the values in `options`.

    Returns:
        A `keras.Model` named `name`, input (None, H, W, 3) float32, output
        (None, num_classes) log-probabilities.

    Raises:
        ValueError: bad input rank or channels, pooling outside 1-3, an input
            too small for the pooling layers and the region grid, an unknown
            option.
    """
    options = options or ECCNNOptions()
    if overrides:
        options = options.replace(**overrides)
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    # Every pooling layer halves the map; the region grid then needs one pixel per region.
    per_pixel = options.grid if options.local_region else (1, 1)
    scale = 2**options.pooling_layers
    need = max(per_pixel) * scale
    what = f"pooling_layers={options.pooling_layers}" + (
        f" with the {options.grid[0]}x{options.grid[1]} local region grid" if options.local_region else ""
    )
    check_min_side(shape, need, what)

    inputs = keras.Input(shape=shape, name=f"{name}_input")
    x = inputs
    for i, width in enumerate(options.filters, start=1):
        x = keras.layers.Conv2D(
            width, options.kernel_size, padding="same", activation="relu", name=f"{name}_conv{i}"
        )(x)
        if i <= options.pooling_layers:
            x = keras.layers.MaxPooling2D(2, name=f"{name}_pool{i}")(x)
    if options.local_region:
        x = LocalRegionLayer(
            grid=options.grid,
            kernel_size=options.region_kernel_size,
            activation=options.region_activation,
            name=f"{name}_local_region",
        )(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dropout(options.dropout, name=f"{name}_dropout")(x)
    if options.dense_units:
        x = keras.layers.Dense(options.dense_units, activation="relu", name=f"{name}_dense")(x)
    outputs = log_softmax_head(x, num_classes, name)
    return keras.Model(inputs, outputs, name=name)
