"""Paper stages 1 and 3: image enhancement and the landmark-aligned face crop.

Training (tf.data) and the device call the same ``preprocess_face``, with the
same ``FacePreprocessParams`` read from the model's ``preprocess.json``; this
is what keeps desktop and device inputs identical. No TensorFlow here.

Order of operations in ``preprocess_face``: align and crop the face from the
raw frame first, then enhance the crop (grayscale, CLAHE, unsharp mask), then
normalize and repeat the gray channel three times. Enhancing the crop instead
of the whole frame makes CLAHE's tiles cover facial regions (brows, eyes,
mouth) at a fixed scale, whatever the face size in the frame, and costs a
64x64 patch instead of a 640x480 frame.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np

from mer_tf.atomic import atomic_write_json
from mer_tf.faces.ibug68 import check_landmarks, eye_centers

NORMALIZATIONS = ("unit", "symmetric", "per_image")
PREPROCESS_VERSION = 1


@dataclass(frozen=True)
class ImagePreprocessParams:
    """Stage 1: grayscale, CLAHE contrast, unsharp-mask sharpening.

    Args:
        clahe: apply CLAHE (contrast-limited adaptive histogram equalization).
        clahe_clip_limit: CLAHE clip limit; 2.0 evens out lighting without
            amplifying sensor noise in flat skin (OpenCV's default of 40 is
            far too strong on faces).
        clahe_tiles: CLAHE tile grid per side; 4 on a 64 px face gives
            16 px tiles, about one facial region (an eye, a brow) each.
        unsharp: apply unsharp-mask sharpening.
        unsharp_sigma: Gaussian blur sigma in pixels of the blur that is
            subtracted; 1.0 sharpens the fine edges (lids, lip line) that
            micro-expressions move.
        unsharp_amount: weight of the detail added back,
            ``out = img + amount * (img - blur)``; 0.5 is a mild sharpening.
    """

    clahe: bool = True
    clahe_clip_limit: float = 2.0
    clahe_tiles: int = 4
    unsharp: bool = True
    unsharp_sigma: float = 1.0
    unsharp_amount: float = 0.5

    def __post_init__(self):
        if self.clahe_clip_limit <= 0:
            raise ValueError(f"`clahe_clip_limit` must be > 0. Received: {self.clahe_clip_limit}")
        if not 1 <= int(self.clahe_tiles) <= 64:
            raise ValueError(f"`clahe_tiles` must be 1..64. Received: {self.clahe_tiles}")
        if self.unsharp_sigma <= 0 or self.unsharp_amount < 0:
            raise ValueError(
                "`unsharp_sigma` must be > 0 and `unsharp_amount` >= 0. "
                f"Received: sigma={self.unsharp_sigma}, amount={self.unsharp_amount}"
            )


def enhance(image: np.ndarray, params: ImagePreprocessParams | None = None) -> np.ndarray:
    """Stage 1 on a uint8 BGR or gray image: returns enhanced gray uint8 (H, W)."""
    from mer_tf.faces.image import to_gray

    params = params or ImagePreprocessParams()
    gray = to_gray(image)
    if params.clahe:
        tiles = int(params.clahe_tiles)
        gray = cv2.createCLAHE(clipLimit=params.clahe_clip_limit, tileGridSize=(tiles, tiles)).apply(gray)
    if params.unsharp and params.unsharp_amount > 0:
        blur = cv2.GaussianBlur(gray, (0, 0), params.unsharp_sigma)
        gray = cv2.addWeighted(gray, 1.0 + params.unsharp_amount, blur, -params.unsharp_amount, 0)
    return gray


@dataclass(frozen=True)
class FacePreprocessParams:
    """Stage 3: the aligned face crop fed to the CNN; saved as ``preprocess.json``.

    The crop is a similarity transform of the frame fixed by the two eye
    centres: eyes level, the inter-ocular distance (IOD) a fixed fraction of
    the crop. In IOD units the 68 landmarks of a frontal face span about
    x in [-1.1, 1.1] and y in [-0.45, 1.75] around the eye midpoint (measured
    with dlib on the astronaut and grace_hopper photos), so the face square
    has side ``face_span`` IOD and its centre ``face_center_y`` IOD below the
    eyes; ``margin`` adds that fraction of the side on each edge. Only the
    eyes set the frame, so a dropping jaw or raised brows do not move it
    (other landmarks would, between frames of one clip).

    Args:
        size: side S of the square CNN input, in pixels.
        margin: border around the face square, fraction of its side per edge.
        face_span: side of the face square in inter-ocular distances.
        face_center_y: face square centre below the eye line, in IODs.
        normalization: ``"unit"`` (x/255 in [0, 1]), ``"symmetric"``
            (x/127.5 - 1 in [-1, 1]) or ``"per_image"`` (zero mean, unit std
            per crop; removes the remaining global lighting difference).
        channels: 3 (the gray crop repeated as R, G, B: the paper's 3-channel
            RGB input) or 1.
        enhance: stage 1 parameters applied to the crop.
    """

    size: int = 64
    margin: float = 0.1
    face_span: float = 2.2
    face_center_y: float = 0.65
    normalization: str = "unit"
    channels: int = 3
    enhance: ImagePreprocessParams = field(default_factory=ImagePreprocessParams)

    def __post_init__(self):
        if isinstance(self.enhance, dict):
            object.__setattr__(self, "enhance", ImagePreprocessParams(**self.enhance))
        if not 8 <= int(self.size) <= 1024:
            raise ValueError(f"`size` must be 8..1024 pixels. Received: size={self.size}")
        if not 0 <= self.margin <= 1:
            raise ValueError(f"`margin` must be in [0, 1]. Received: margin={self.margin}")
        if self.face_span <= 0:
            raise ValueError(f"`face_span` must be > 0. Received: face_span={self.face_span}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"`normalization` must be one of {NORMALIZATIONS}. Received: {self.normalization!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={self.channels}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.size, self.size, self.channels)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["version"] = PREPROCESS_VERSION
        d["channel_order"] = "RGB" if self.channels == 3 else "GRAY"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FacePreprocessParams":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known - {"version", "channel_order"}
        if unknown:
            raise ValueError(f"Unknown preprocess parameters {sorted(unknown)}; known: {sorted(known)}.")
        if d.get("version", PREPROCESS_VERSION) > PREPROCESS_VERSION:
            raise ValueError(f"preprocess.json version {d['version']} is newer than this mer-tf; upgrade mer-tf.")
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``preprocess.json`` atomically (temp file, then rename)."""
        return atomic_write_json(Path(path), self.to_dict(), sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FacePreprocessParams":
        path = Path(path)
        if path.is_dir():
            path = path / "preprocess.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: a model folder holds preprocess.json beside model.keras.")
        return cls.from_dict(json.loads(path.read_text()))


def alignment_matrix(landmarks: np.ndarray, params: FacePreprocessParams) -> np.ndarray:
    """The 2x3 affine matrix mapping frame pixels to crop pixels."""
    pts = check_landmarks(landmarks)
    left, right = eye_centers(pts)
    dx, dy = right - left
    iod = float(np.hypot(dx, dy))
    if iod < 1e-3:
        raise ValueError("landmarks have both eyes at one point (zero face size); cannot align the face.")
    side_iod = params.face_span * (1.0 + 2.0 * params.margin)  # crop side in IODs
    scale = params.size / (side_iod * iod)
    cos, sin = dx / iod * scale, dy / iod * scale
    rot = np.array([[cos, sin], [-sin, cos]])  # rotates the eye line onto +x, scales
    mid = 0.5 * (left + right)
    # in the crop, the eye midpoint sits at the horizontal centre, face_center_y IODs above the centre
    target = np.array([0.5 * params.size, 0.5 * params.size - params.face_center_y * iod * scale])
    return np.hstack([rot, (target - rot @ mid)[:, None]])


def align_face(image: np.ndarray, landmarks: np.ndarray, params: FacePreprocessParams | None = None):
    """Aligned gray crop (S, S) uint8 and the landmarks moved into it (68, 2) float32."""
    from mer_tf.faces.image import to_gray

    params = params or FacePreprocessParams()
    m = alignment_matrix(landmarks, params)
    crop = cv2.warpAffine(
        to_gray(image), m, (params.size, params.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    pts = np.asarray(landmarks, dtype=np.float64) @ m[:, :2].T + m[:, 2]
    return crop, pts.astype(np.float32)


def normalize(crop: np.ndarray, params: FacePreprocessParams) -> np.ndarray:
    """uint8 (S, S) gray -> float32 (S, S, C) as the CNN expects."""
    x = crop.astype(np.float32)
    if params.normalization == "unit":
        x *= 1.0 / 255.0
    elif params.normalization == "symmetric":
        x = x * (1.0 / 127.5) - 1.0
    else:  # per_image; the floor keeps a flat crop from dividing by ~0
        x = (x - x.mean()) / max(float(x.std()), 1.0)
    x = x[:, :, None]
    if params.channels == 3:
        x = np.repeat(x, 3, axis=2)
    return np.ascontiguousarray(x, dtype=np.float32)


def preprocess_face(image: np.ndarray, landmarks: np.ndarray, params: FacePreprocessParams | None = None) -> np.ndarray:
    """Stage 3 end to end: aligned, enhanced, normalized float32 (S, S, channels)."""
    params = params or FacePreprocessParams()
    crop, _ = align_face(image, landmarks, params)
    return normalize(enhance(crop, params.enhance), params)
