"""Distinct synthetic subjects from one photo: face shape, pose, scale, skin tone, lighting, noise.

An identity is a neutral frame (the photo warped and recoloured) with its
landmarks, plus the per-frame camera settings (noise, blur, JPEG quality).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from mer_tf.datasets.synthetic.action_units import face_frame
from mer_tf.datasets.synthetic.source_faces import SourceFace, mirror
from mer_tf.datasets.synthetic.warp import PiecewiseAffine, anchor_points


@dataclass
class Identity:
    """One synthetic subject.

    Args:
        subject: "sub01", ...
        group: the source photo's name (subjects from one photo share it).
        image: neutral uint8 BGR (S, S, 3) frame, noise-free.
        landmarks: (68, 2) float64 landmarks of `image`.
        noise: sensor noise standard deviation (grey levels) added to every frame.
        blur: Gaussian blur sigma (px) of the camera.
        jpeg_quality: the JPEG quality frames are written with.
        traits: the drawn parameters, saved in the manifest.
    """

    subject: str
    group: str
    image: np.ndarray
    landmarks: np.ndarray
    noise: float
    blur: float
    jpeg_quality: int
    traits: dict = field(default_factory=dict)


def _shape_offsets(landmarks: np.ndarray, rng: np.random.Generator, traits: dict) -> np.ndarray:
    """Landmark offsets that change the face's shape: jaw, face length, eyes, brows, nose, mouth."""
    x_axis, y_axis, width, mid = face_frame(landmarks)
    local = np.stack([(landmarks - mid) @ x_axis, (landmarks - mid) @ y_axis], 1) / width
    new = local.copy()
    draw = {
        "jaw_width": rng.uniform(0.9, 1.1), "chin_drop": rng.uniform(-0.04, 0.06), "eye_spacing": rng.uniform(-0.03, 0.03),
        "eye_size": rng.uniform(0.88, 1.15), "brow_height": rng.uniform(-0.03, 0.03), "nose_length": rng.uniform(-0.03, 0.03),
        "nose_width": rng.uniform(0.88, 1.15), "mouth_width": rng.uniform(0.88, 1.12), "mouth_height": rng.uniform(-0.03, 0.03),
        "lip_thickness": rng.uniform(0.85, 1.2), "yaw_shift": rng.uniform(-0.04, 0.04),
    }
    traits.update({k: round(float(v), 4) for k, v in draw.items()})
    new[0:17, 0] *= draw["jaw_width"]
    new[5:12, 1] += draw["chin_drop"] * np.array([0.3, 0.6, 0.9, 1.0, 0.9, 0.6, 0.3])
    for eye, sign in ((slice(36, 42), -1), (slice(42, 48), 1)):
        centre = new[eye].mean(axis=0)
        new[eye] = centre + (new[eye] - centre) * draw["eye_size"]
        new[eye, 0] += sign * draw["eye_spacing"]
    new[17:22, 0] -= draw["eye_spacing"]
    new[22:27, 0] += draw["eye_spacing"]
    new[17:27, 1] -= draw["brow_height"]
    new[31:36, 1] += draw["nose_length"]
    new[31:36, 0] *= draw["nose_width"]
    mouth = slice(48, 68)
    centre = new[mouth].mean(axis=0)
    new[mouth, 0] = centre[0] + (new[mouth, 0] - centre[0]) * draw["mouth_width"]
    new[mouth, 1] = centre[1] + (new[mouth, 1] - centre[1]) * draw["lip_thickness"] + draw["mouth_height"]
    # a slight turn: the midline (nose, mouth, chin) shifts sideways, more at the front of the face
    front = np.r_[27:36, 48:68, 6:11]
    new[front, 0] += draw["yaw_shift"] * np.where(np.isin(np.arange(68)[front], np.r_[30:36, 48:68]), 1.0, 0.6)
    return (new - local) * width @ np.stack([x_axis, y_axis])


def _appearance(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, traits: dict) -> np.ndarray:
    """Hair/background colour, skin tone (inside a soft face mask), colour cast, light, gamma, contrast."""
    size = image.shape[0]
    _, y_axis, width, _ = face_frame(landmarks)
    # hair, clothes and background: a different hue, saturation and darkness outside the face and forehead
    head = np.zeros((size, size), np.float32)
    forehead = landmarks[17:27] - 0.3 * width * y_axis
    cv2.fillConvexPoly(head, cv2.convexHull(np.round(np.vstack([landmarks, forehead])).astype(np.int32)), 1.0)
    head = cv2.GaussianBlur(head, (0, 0), 0.06 * width)[..., None]
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hue, saturation, value = rng.uniform(-8, 3), rng.uniform(0.5, 1.2), rng.uniform(0.55, 1.1)  # hair stays hair-coloured
    hsv[..., 0] = np.mod(hsv[..., 0] + hue, 180)
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * value, 0, 255)
    recoloured = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    image = head * image.astype(np.float32) + (1 - head) * recoloured
    traits.update(surround_hue=round(float(hue), 2), surround_saturation=round(float(saturation), 3),
                  surround_value=round(float(value), 3))
    out = image / 255.0
    mask = np.zeros((size, size), np.float32)
    hull = cv2.convexHull(np.round(landmarks).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.12 * width)[..., None]
    # skin varies along lightness and warmth (red vs blue), not in arbitrary hues
    lightness, warmth = rng.uniform(0.7, 1.12), rng.uniform(-0.06, 0.12)
    tone = lightness * np.array([1 - warmth, 1 - 0.3 * warmth, 1 + warmth], np.float32)  # B, G, R
    cast = np.array([rng.uniform(0.94, 1.06) for _ in range(3)], np.float32)
    out = out * (1 + mask * (tone - 1)) * cast
    angle, strength = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.45)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    light = 1 + strength * (np.cos(angle) * xx + np.sin(angle) * yy)
    gamma, contrast = rng.uniform(0.8, 1.25), rng.uniform(0.85, 1.15)
    out = np.clip(out * light[..., None], 0, 1) ** gamma
    out = (out - out.mean()) * contrast + out.mean() + rng.uniform(-0.06, 0.06)
    traits.update(skin_tone_bgr=[round(float(t), 3) for t in tone], light_angle=round(float(angle), 3),
                  light_strength=round(float(strength), 3), gamma=round(float(gamma), 3),
                  contrast=round(float(contrast), 3))
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def make_identity(source: SourceFace, subject: str, size: int, rng: np.random.Generator,
                  flip: bool = False) -> Identity:
    """A new subject from a source face: mirrored or not, posed, scaled, reshaped and recoloured.

    Args:
        source: the photo crop and its landmarks.
        subject: the subject id ("sub01").
        size: the frame side in pixels.
        rng: the subject's random generator (its draws make the identity).
        flip: mirror the photo first.
    """
    image, landmarks = (mirror(source.image, source.landmarks) if flip else (source.image, source.landmarks))
    landmarks = landmarks.astype(np.float64)
    traits: dict = {"mirrored": bool(flip)}
    # pose and scale: a similarity that puts the face (width 42-55% of the frame) near the centre
    width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
    target = size * rng.uniform(0.42, 0.55)
    angle = rng.uniform(-8, 8)
    centre = (landmarks.min(axis=0) + landmarks.max(axis=0)) / 2
    place = np.array([size / 2 + rng.uniform(-0.05, 0.05) * size, size * 0.54 + rng.uniform(-0.04, 0.04) * size])
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, target / width)
    matrix[:, 2] += place - centre
    posed = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    points = landmarks @ matrix[:, :2].T + matrix[:, 2]
    traits.update(face_width=round(float(target), 1), roll_degrees=round(float(angle), 2))
    # face shape: a piecewise-affine warp of the landmarks, anchors fixed
    anchors = anchor_points(points, size)
    shaped = points + _shape_offsets(points, rng, traits)
    warp = PiecewiseAffine(np.vstack([points, anchors]), size)
    image = warp(posed, np.vstack([shaped, anchors]))
    image = _appearance(image, shaped, rng, traits)
    noise, blur, quality = rng.uniform(1.5, 5.0), rng.uniform(0.0, 0.8), int(rng.integers(85, 96))
    traits.update(noise=round(float(noise), 2), blur=round(float(blur), 2), jpeg_quality=quality)
    return Identity(subject, source.name, image, shaped, float(noise), float(blur), quality, traits)
