"""The real face photographs the synthetic subjects are made from, with their 68 landmarks.

Only photos that ship inside installed packages are used, so nothing is
downloaded: scikit-image's ``astronaut`` (Eileen Collins, NASA, public
domain) and matplotlib's ``grace_hopper.jpg`` (US Navy, public domain). No
other installed package ships a frontal face photo (searched: scikit-image,
matplotlib, scikit-learn, scipy, OpenCV, dlib, MediaPipe).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

SOURCES = ("astronaut", "grace_hopper")
# The side of the square crop kept around each source face, in face widths.
CROP_WIDTHS = 2.6
# Source crops are resampled to this face width (px) before identities are made.
REFERENCE_WIDTH = 150.0

# iBUG 68 index of each point's mirror image (for horizontally flipped subjects).
MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65]
)


@dataclass(frozen=True)
class SourceFace:
    """A square crop of a real photo around its face, and the face's landmarks in it.

    Args:
        name: the photo's name (the `group` of every subject made from it).
        image: uint8 BGR (C, C, 3) crop.
        landmarks: (68, 2) float32 iBUG landmarks in the crop (dlib's).
    """

    name: str
    image: np.ndarray
    landmarks: np.ndarray


def mirror(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip a face horizontally; the landmarks are flipped and re-indexed (left eye stays 36-41)."""
    width = image.shape[1]
    flipped = landmarks[MIRROR].copy()
    flipped[:, 0] = width - 1 - flipped[:, 0]
    return np.ascontiguousarray(image[:, ::-1]), flipped


@functools.lru_cache(maxsize=4)
def load_source_faces(names: tuple[str, ...] = SOURCES) -> tuple[SourceFace, ...]:
    """Load each photo, find its face and landmarks with dlib, and crop around the face.

    Cached per process: loading dlib's 68-point model takes a second or more.

    Raises:
        RuntimeError: dlib finds no face in a photo (it names the photo).
    """
    from mer_tf.faces import create_detector, create_landmarker
    from mer_tf.faces.sample_photos import load_sample_photo

    detector, landmarker = create_detector("dlib", upsample=1), create_landmarker("dlib")
    faces = []
    for name in names:
        photo = load_sample_photo(name)
        boxes = detector.detect(photo)
        if not boxes:
            raise RuntimeError(f"dlib found no face in the source photo {name!r}; it cannot seed synthetic subjects.")
        landmarks = landmarker.landmarks(photo, boxes[0]).astype(np.float64)
        width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
        scale = REFERENCE_WIDTH / width
        side = int(round(CROP_WIDTHS * REFERENCE_WIDTH))
        centre = (landmarks.min(axis=0) + landmarks.max(axis=0)) / 2
        # scale about the face centre and put it in the middle of the crop
        matrix = np.array([[scale, 0, side / 2 - scale * centre[0]], [0, scale, side / 2 - scale * centre[1]]])
        crop = cv2.warpAffine(photo, matrix, (side, side), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REFLECT)
        points = landmarks @ matrix[:, :2].T + matrix[:, 2]
        points = points.astype(np.float32)
        crop.setflags(write=False)  # shared by the cache
        points.setflags(write=False)
        faces.append(SourceFace(name, crop, points))
        log.info("source face %s: face width %.0f px, scaled x%.2f", name, width, scale)
    return tuple(faces)
