"""Real face photos that ship inside installed packages (public domain).

Used by the tests, the benchmark and demos, so that nothing is downloaded:
scikit-image's ``astronaut`` (Eileen Collins, smiling) and matplotlib's
``grace_hopper.jpg``. Both are one-face portraits.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SAMPLE_PHOTOS = ("astronaut", "grace_hopper")


def sample_photo_path(name: str) -> Path | None:
    """The file behind a sample photo, when there is one (grace_hopper)."""
    if name == "grace_hopper":
        try:
            import matplotlib
        except ImportError as err:
            raise FileNotFoundError(
                "grace_hopper.jpg ships with matplotlib: pip install matplotlib"
            ) from err
        return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return None


def load_sample_photo(name: str) -> np.ndarray:
    """A sample photo as uint8 BGR (H, W, 3), OpenCV's order like a camera frame.

    Args:
        name: ``"astronaut"`` (512x512, scikit-image) or ``"grace_hopper"``
            (512x600, matplotlib).
    """
    if name == "astronaut":
        try:
            from skimage import data
        except ImportError as err:
            raise FileNotFoundError("the astronaut photo ships with scikit-image: pip install scikit-image") from err
        return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    if name == "grace_hopper":
        path = sample_photo_path(name)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"could not read {path}; reinstall matplotlib.")
        return image
    raise ValueError(f"Unknown sample photo {name!r}; choose one of {SAMPLE_PHOTOS}.")
