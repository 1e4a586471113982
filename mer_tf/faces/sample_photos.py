"""Real face photos that ship inside installed packages.

Used by the tests, the benchmark and demos, so that nothing is downloaded:
scikit-image's ``astronaut`` (Eileen Collins, smiling) and matplotlib's
``grace_hopper.jpg`` (both public domain, one face each); and six multi-face photos
from an npm package, put in place at install time (`load_multiface_photos`).
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


MULTIFACE_SOURCE = "npm @vladmandic/face-api@1.7.15 demo/sample1-6.jpg (MIT; photos by the package's author)"


def multiface_photos_dir() -> Path:
    """Where `scripts/install_models.py --photos` put the six multi-face photos (``MER_TF_PHOTOS`` overrides)."""
    import os
    import sys

    env = os.environ.get("MER_TF_PHOTOS")
    return Path(env) if env else Path(sys.prefix) / "share" / "mer-tf" / "photos"


def load_multiface_photos() -> dict[str, np.ndarray]:
    """The six real multi-face photos (1920 px wide, 22 faces), name -> uint8 BGR.

    They come from an npm package at install time (never at run time):
    ``make models`` puts them in place. FileNotFoundError says how when they are missing.
    """
    folder = multiface_photos_dir()
    paths = sorted(folder.glob("sample*.jpg"))
    if len(paths) != 6:
        raise FileNotFoundError(
            f"The multi-face photos ({MULTIFACE_SOURCE}) are not in {folder}: run `make models` "
            f"(or python scripts/install_models.py --dest <models> --photos {folder}); it needs npm.")
    photos = {}
    for p in paths:
        image = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"could not read {p}; reinstall with `python scripts/install_models.py "
                                    f"--dest <models> --photos {folder} --force`.")
        photos[p.name] = image
    return photos
