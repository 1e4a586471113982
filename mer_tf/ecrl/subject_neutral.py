"""A neutral face for data without onset frames: the subject's mean aligned landmarks.

The MEGC 2019 release ships one apex crop per clip and no onset frame, so
ECRL has no neutral face of the same clip. Each subject's own mean shape
stands in for it: every apex shape of the subject is aligned to the running
mean by the least-squares similarity on the stable points (eye corners,
nose bridge; generalized Procrustes, a few rounds), then averaged.

It uses no label, only the subject's own faces, so it is legitimate for a
test subject too (like per-subject normalization in the field). It is an
approximation: the mean of expressive faces is not a neutral face, so a
subject whose clips are mostly one emotion has that emotion partly in its
"neutral", and the features measure departures from the subject's average.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from mer_tf.faces import ibug68 as ib

SUBJECT_MEAN = "subject_mean"
_STABLE = np.array(ib.STABLE)


def _similarity_onto(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """`src` (68, 2) mapped by the similarity that best takes its stable points onto `dst`'s."""
    a = src[_STABLE, 0] + 1j * src[_STABLE, 1]
    b = dst[_STABLE, 0] + 1j * dst[_STABLE, 1]
    am, bm = a.mean(), b.mean()
    denom = np.vdot(a - am, a - am)
    scale_rot = np.vdot(a - am, b - bm) / denom if abs(denom) > 0 else 1.0
    z = (src[:, 0] + 1j * src[:, 1] - am) * scale_rot + bm
    return np.stack([z.real, z.imag], axis=-1)


def mean_shape(shapes: Sequence[np.ndarray], rounds: int = 3) -> np.ndarray | None:
    """The Procrustes mean (68, 2) of `shapes`, in the frame of the first usable one; None if none is usable."""
    usable = [np.asarray(s, np.float64) for s in shapes if np.shape(s) == (68, 2) and np.isfinite(s).all()]
    usable = [s for s in usable if np.ptp(s[_STABLE], axis=0).max() > 1e-6]
    if not usable:
        return None
    mean = usable[0]
    for _ in range(rounds):
        mean = np.mean([_similarity_onto(s, mean) for s in usable], axis=0)
    return mean


def with_subject_neutrals(samples: Sequence, feats: Sequence) -> list:
    """`feats` with `neutral_landmarks` replaced by the subject mean where the sample asks for it.

    Samples whose ``neutral`` is "subject_mean" get their subject's mean
    apex shape over the samples given here (pass all of a subject's samples
    together: a LOSO fold's training subjects, or its test subject); the
    others keep their onset landmarks. `feats` are `SampleFeatures`-like
    objects (dataclasses with apex_landmarks and neutral_landmarks).
    """
    if len(samples) != len(feats):
        raise ValueError(f"{len(samples)} samples for {len(feats)} features; pass one feature per sample.")
    by_subject: dict[tuple, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if getattr(s, "neutral", "onset") == SUBJECT_MEAN:
            by_subject[(s.dataset, s.subject)].append(i)
    out = list(feats)
    for idx in by_subject.values():
        mean = mean_shape([feats[i].apex_landmarks for i in idx])
        if mean is None:
            continue  # no usable face: the apex itself stays the neutral, ECRL then sees no change
        for i in idx:
            out[i] = replace(feats[i], neutral_landmarks=mean.astype(np.float32))
    return out
