"""Frame files of a clip: found, numbered, sorted numerically, checked readable."""

from __future__ import annotations

import re
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

# The last run of digits in the file stem is the frame number:
# img98.jpg, reg_img1234.jpg, 006_05562.jpg, image063913.bmp, reg_image063913.bmp.
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def frame_number(path: Path) -> int | None:
    """The frame number in a frame file name, or None when it has none."""
    match = _NUMBER.search(path.stem)
    return int(match.group(1)) if match else None


def list_frames(folder: Path) -> tuple[list[tuple[int, Path]], list[Path]]:
    """The image files of a clip folder in frame order.

    Sorting is numeric: CASME II's ``img{N}`` is not zero-padded, so a text
    sort would put img100 before img99.

    Returns:
        ([(frame number, path), ...] sorted by number, [image files without a number]).
    """
    numbered, unnumbered = [], []
    for path in folder.iterdir():
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        number = frame_number(path)
        (unnumbered.append(path) if number is None else numbered.append((number, path)))
    numbered.sort(key=lambda item: (item[0], item[1].name))
    return numbered, sorted(unnumbered)


def is_readable(path: Path) -> bool:
    """True when the image decodes (JPEGs decode at 1/8 scale: a quick check)."""
    import cv2

    try:
        if path.stat().st_size == 0:
            return False
    except OSError:
        return False
    flag = cv2.IMREAD_REDUCED_GRAYSCALE_8 if path.suffix.lower() in (".jpg", ".jpeg") else cv2.IMREAD_GRAYSCALE
    image = cv2.imread(str(path), flag)
    return image is not None and image.size > 0
