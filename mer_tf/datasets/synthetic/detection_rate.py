"""How often dlib's detector finds the face in the generated frames (the set's sanity figure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2


@dataclass
class DetectionRate:
    """Frames checked, frames with a face found, and the misses.

    Args:
        frames: frames checked.
        detected: frames where the detector found at least one face.
        per_subject: subject -> (detected, frames).
        misses: paths of the frames without a detection.
    """

    frames: int
    detected: int
    per_subject: dict[str, tuple[int, int]] = field(default_factory=dict)
    misses: list[Path] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.detected / self.frames if self.frames else 0.0


def detection_rate(path, detector: str = "dlib", stride: int = 1, progress: bool = False) -> DetectionRate:
    """Run a face detector on the frames of a synthetic (or any loadable) set.

    Args:
        path: the set's folder.
        detector: "dlib" (HOG, upsample 0: the pipeline's default) or "blazeface".
        stride: check every `stride`-th frame of each clip (1: all).
        progress: show a tqdm bar on stderr.
    """
    from tqdm import tqdm

    from mer_tf.datasets import load_dataset
    from mer_tf.faces import create_detector

    if stride < 1:
        raise ValueError(f"`stride` must be >= 1. Received: stride={stride}")
    found = create_detector(detector)
    report = load_dataset(path, verify=False)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    result = DetectionRate(0, 0)
    frames = [(s.subject, f) for s in report.samples for f in s.frames[::stride]]
    for subject, frame in tqdm(frames, desc="face detection", unit="frame", disable=not progress):
        image = cv2.imread(str(frame), cv2.IMREAD_COLOR)
        hit = image is not None and bool(found.detect(image))
        counts[subject][0] += hit
        counts[subject][1] += 1
        result.frames += 1
        result.detected += hit
        if not hit:
            result.misses.append(frame)
    result.per_subject = {k: (v[0], v[1]) for k, v in sorted(counts.items())}
    return result
