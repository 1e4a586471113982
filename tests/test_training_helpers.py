"""Tiny real datasets for the training tests (no tests here).

Frames are real face photos (astronaut, grace_hopper) with a small mouth-region
warp per class, written as JPEG files, so the real decode -> dlib detection ->
landmarks -> preprocessing -> tf.data path runs.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mer_tf.datasets.sample import Sample
from mer_tf.faces.sample_photos import load_sample_photo

LABELS = (("Happy", "happiness", "positive"), ("Surprise", "surprise", "surprise"), ("Sad", "sadness", "negative"))


def _warp(img: np.ndarray, k: int, amount: float, shift: tuple[int, int]) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # A smooth local displacement around the lower face; its direction depends on the class.
    cy, cx = 0.62 * h, 0.5 * w
    bump = np.exp(-(((yy - cy) / (0.12 * h)) ** 2 + ((xx - cx) / (0.18 * w)) ** 2))
    dy = [-1.0, 1.0, 0.0][k] * amount * bump
    dx = [0.0, 0.0, 1.0][k] * amount * bump * np.sign(xx - cx)
    out = cv2.remap(img, xx - dx + shift[0], yy - dy + shift[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def make_samples(root: Path, subjects: int = 4, clips_per_class: int = 1, size: int = 384) -> list[Sample]:
    """`subjects` subjects alternating between the two photos; 3 classes; 3 frames per clip."""
    photos = {n: cv2.resize(load_sample_photo(n), (size, size)) for n in ("astronaut", "grace_hopper")}
    names = list(photos)
    samples = []
    for s in range(subjects):
        photo = names[s % 2]
        base = photos[photo]
        for k, (label7, raw, label3) in enumerate(LABELS):
            for c in range(clips_per_class):
                clip = root / f"sub{s:02d}" / f"{label7}_{c}"
                clip.mkdir(parents=True, exist_ok=True)
                frames = []
                shift = (s % 3 - 1, c % 2)
                for f, amount in enumerate((0.0, 4.0, 8.0)):
                    path = clip / f"img{f}.jpg"
                    cv2.imwrite(str(path), _warp(base, k, amount, shift))
                    frames.append(path)
                samples.append(
                    Sample("synthetic", f"sub{s:02d}", f"{label7}_{c}", tuple(frames), 0, 2, 2, raw, label7, label3,
                           frame_numbers=(0, 1, 2), group=photo)  # fmt: skip
                )
    return samples
