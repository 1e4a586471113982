"""Argument checks shared by the model builders: clear ValueErrors, up front."""

from __future__ import annotations


def check_input_shape(input_shape) -> tuple[int, int, int]:
    """Return (height, width, channels) or raise a ValueError naming the problem.

    Every model takes one aligned face crop: (height, width, 3), RGB, as
    produced by `mer_tf.preprocess.preprocess_face`.
    """
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"`input_shape` must be (height, width, 3) with positive ints. Received: input_shape={input_shape!r}"
        ) from None
    if len(shape) != 3:
        raise ValueError(
            f"`input_shape` must have rank 3: (height, width, channels), without the batch axis. "
            f"Received: input_shape={shape} (rank {len(shape)})"
        )
    if shape[2] != 3:
        raise ValueError(
            f"`input_shape` must have 3 channels (the face crop is converted to RGB, paper stage 3). "
            f"Received: input_shape={shape} with {shape[2]} channels"
        )
    if min(shape[:2]) < 1:
        raise ValueError(f"`input_shape` sides must be positive. Received: input_shape={shape}")
    return shape


def check_num_classes(num_classes) -> int:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2 (7 emotions, or 3 for MEGC). Received: {num_classes!r}")
    return num_classes


def check_min_side(input_shape, min_side: int, why: str) -> None:
    """Raise if the input's smaller side is below `min_side`; `why` says which setting needs it."""
    height, width, _ = input_shape
    if min(height, width) < min_side:
        raise ValueError(
            f"input_shape={tuple(input_shape)} is too small for {why}: "
            f"use an input side of at least {min_side} pixels."
        )
