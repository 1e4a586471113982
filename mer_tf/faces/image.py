"""Image checks and colour conversions shared by the face backends.

Every backend takes the same input: a uint8 array, BGR ``(H, W, 3)`` (OpenCV's
order) or grayscale ``(H, W)``. Checking it once here gives one clear error
instead of a deep traceback inside dlib or LiteRT.
"""

from __future__ import annotations

import cv2
import numpy as np


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate a frame: uint8, (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array; received {type(image).__name__}.")
    if image.dtype != np.uint8:
        raise ValueError(
            f"{name} must be uint8 (0..255); received dtype={image.dtype}. "
            "Convert with np.clip(x, 0, 255).astype(np.uint8)."
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(
            f"{name} must be gray (H, W) or BGR (H, W, 3); received shape={image.shape}."
        )
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"{name} is too small to hold a face: shape={image.shape}.")
    return image


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 gray (H, W) from gray / BGR / BGRA, contiguous (dlib needs that)."""
    image = check_image(image)
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
    return cv2.cvtColor(image, code)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) from gray / BGR / BGRA."""
    image = check_image(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGB
    return cv2.cvtColor(image, code)
