"""Test-time mirror averaging: one model that predicts on an image and its mirror image."""

from __future__ import annotations

from mer_tf.layers import LogSoftmax, Mirror
from mer_tf.layers.backend import keras

SUFFIX = "_flip_average"


def flip_average(model, mode: str):
    """`model` wrapped to average its log-probabilities over the input and its mirror image.

    The training augmentation mirrors faces half the time, so a trained model
    has seen both sides; averaging the two predictions (a geometric mean of
    the two class distributions, renormalized by LogSoftmax) removes the part
    of its verdict that depends on which side it looks at. One graph, so
    `mer export` converts it whole and the edge runtime runs it unchanged,
    at twice the CNN cost. The trained layers are shared, not copied.

    Args:
        model: a trained model ending in log-probabilities (any builder's).
        mode: the input mode ("apex", "flow", "flow_image"): how to mirror a
            flow field (`mer_tf.layers.Mirror`).

    Returns:
        A `keras.Model` named `<name>_flip_average`, with the same input and
        output shapes; `model` itself is its one inner layer (`unwrap`).
    """
    name = model.name
    if name.endswith(SUFFIX) or unwrap(model) is not model:
        raise ValueError(f"model {name!r} is already a flip_average wrapper; wrap the single-pass model once")
    inner = model
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name=f"{name}_input")
    direct = inner(inputs)
    mirrored = inner(Mirror(mode, name=f"{name}_mirror")(inputs))
    mean = keras.layers.Average(name=f"{name}_flip_mean")([direct, mirrored])
    outputs = LogSoftmax(name=f"{name}_log_softmax")(mean)
    return keras.Model(inputs, outputs, name=name + SUFFIX)


def unwrap(model):
    """The single-pass model inside a `flip_average` wrapper, or `model` itself."""
    if not model.name.endswith(SUFFIX):
        return model
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0] if len(inner) == 1 else model


def mirror_mode(model) -> str | None:
    """The `Mirror` mode a `flip_average` wrapper was built with, or None for a single-pass model.

    The wrapper records how its input mirrors ("flow" for a re-scaled flow
    image, though its input mode is "flow_image"), so a copy that re-wraps the
    single pass (QAT, pruning) reads the mode here rather than re-deriving it.
    """
    if unwrap(model) is model:
        return None
    modes = {layer.mode for layer in model.layers if isinstance(layer, Mirror)}
    if len(modes) != 1:
        raise ValueError(f"flip_average wrapper {model.name!r} has Mirror modes {sorted(modes)}; expected exactly one")
    return modes.pop()
