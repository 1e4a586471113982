"""One synthetic micro-expression clip: onset, rise to apex, fall to offset."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mer_tf.datasets.synthetic.action_units import ACTION_UNITS, EMOTIONS, au_displacement, face_frame
from mer_tf.datasets.synthetic.identity import Identity
from mer_tf.datasets.synthetic.warp import PiecewiseAffine, anchor_points

# AUs that twitch a little in every clip (Neutral too), so that "some motion"
# does not give the class away.
DISTRACTOR_LEVEL = 0.3
# Real micro-expressions rarely show a full prototype: each AU's strength
# varies, and a secondary AU (not the recipe's strongest) is sometimes absent.
AU_STRENGTH = (0.6, 1.3)
SECONDARY_DROP = 0.2


@dataclass
class Clip:
    """Rendered frames (uint8 BGR) and their landmarks, with the annotation."""

    frames: list[np.ndarray]
    landmarks: np.ndarray  # (F, 68, 2) float32
    onset: int
    apex: int
    offset: int
    amplitude: float


def intensity_curve(frames: int, apex: int, tail: float) -> np.ndarray:
    """0 at the onset, smooth rise to 1 at the apex, smooth fall to `tail` at the offset."""
    t = np.arange(frames, dtype=np.float64)
    rise = np.clip(t / max(apex, 1), 0, 1)
    fall = np.clip((t - apex) / max(frames - 1 - apex, 1), 0, 1)
    smooth = lambda x: x * x * (3 - 2 * x)  # noqa: E731 - smoothstep
    return np.where(t <= apex, smooth(rise), 1 - (1 - tail) * smooth(fall))


def render_clip(identity: Identity, emotion: str, frames: int, amplitude: float,
                rng: np.random.Generator) -> Clip:
    """Render one clip of `identity` showing `emotion` at micro-expression amplitude.

    Args:
        identity: the subject (neutral frame and landmarks).
        emotion: one of the seven classes.
        frames: frames in the clip (>= 3).
        amplitude: displacement of a unit AU, as a fraction of the face width
            (default 0.045: brows and lip corners move 2-6% of the face).
        rng: the clip's random generator.
    """
    size = identity.image.shape[0]
    base = identity.landmarks
    apex = int(round(rng.uniform(0.35, 0.6) * (frames - 1)))
    curve = intensity_curve(frames, apex, tail=rng.uniform(0.0, 0.2))
    level = amplitude * rng.uniform(0.75, 1.25)
    prototype = EMOTIONS[emotion]
    primary = max(prototype, key=prototype.get) if prototype else None
    recipe = {au: w * rng.uniform(*AU_STRENGTH) for au, w in prototype.items()
              if au == primary or rng.random() >= SECONDARY_DROP}
    distractors = {au: rng.uniform(0, DISTRACTOR_LEVEL) for au in ACTION_UNITS if rng.random() < 0.35}
    expression = au_displacement(base, recipe, level)
    twitch = au_displacement(base, distractors, amplitude)
    twitch_curve = np.clip(np.sin(np.linspace(0, np.pi, frames) * rng.uniform(0.5, 1.5) + rng.uniform(0, 3)), 0, 1)
    anchors = anchor_points(base, size)
    warp = PiecewiseAffine(np.vstack([base, anchors]), size)
    _, _, width, mid = face_frame(base)
    # slow head drift: a tiny similarity per frame (rigid, so it carries no class information)
    drift = np.cumsum(rng.normal(0, 0.25, (frames, 2)), axis=0)
    roll = np.cumsum(rng.normal(0, 0.08, frames))

    out_frames, out_landmarks = [], []
    for f in range(frames):
        moved = base + curve[f] * expression + twitch_curve[f] * twitch + rng.normal(0, 0.05 * amplitude * width, base.shape)
        image = warp(identity.image, np.vstack([moved, anchors]))
        matrix = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), float(roll[f]), 1.0)
        matrix[:, 2] += drift[f]
        image = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if identity.blur > 0.05:
            image = cv2.GaussianBlur(image, (0, 0), identity.blur)
        noisy = image.astype(np.float32) + rng.normal(0, identity.noise, image.shape).astype(np.float32)
        out_frames.append(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
        out_landmarks.append(moved @ matrix[:, :2].T + matrix[:, 2])
    return Clip(out_frames, np.asarray(out_landmarks, np.float32), 0, apex, frames - 1, float(level))
