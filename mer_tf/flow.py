"""Onset -> apex optical flow as a 3-channel network input (u, v, optical strain).

TF-free: NumPy and OpenCV only, so the device can build the same input.

The field's common alternative to the apex frame (DATASETS.md, "Protocol and
metrics"): the dense flow from the onset (neutral) frame to the apex frame of
a clip, as horizontal u, vertical v and optical strain
eps = sqrt(u_x^2 + v_y^2 + 0.5 (u_y + v_x)^2).

Methods:
- "dis" (default): OpenCV's DIS flow, preset MEDIUM. A few milliseconds per
  128x128 pair here, so a whole dataset is cached in seconds. The default for
  speed.
- "tvl1": `cv2.optflow.DualTVL1OpticalFlow_create` (the field's usual choice,
  about 0.55 s per 128x128 pair on this machine).
- "farneback": OpenCV's Farneback flow (no contrib module needed).

Both frames must be aligned with the same transform (use the onset frame's
landmarks for both), otherwise alignment cancels part of the motion.

Normalization: u and v are divided by max(max |u|, max |v|, `min_scale`) and
strain by max(max strain, `min_scale` / 4); with min_scale = 1 pixel a clip that
barely moves (a Neutral sample) stays near zero instead of having its noise
blown up to full scale. u, v end in [-1, 1], strain in [0, 1].
"""

from __future__ import annotations

import numpy as np

FLOW_METHODS = ("dis", "tvl1", "farneback")


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim != 2:
        raise ValueError(f"Expected a gray HxW or BGR HxWx3 image. Received shape {np.shape(image)}.")
    if img.dtype != np.uint8:
        if img.dtype.kind == "f" and img.max(initial=0) <= 1.0:
            img = img * 255.0
        img = np.clip(img, 0, 255).astype(np.uint8)
    return img


def compute_flow(onset: np.ndarray, apex: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense optical flow from `onset` to `apex`.

    Args:
        onset: the neutral (onset) frame, gray HxW or BGR HxWx3.
        apex: the apex frame, same size.
        method: "dis", "tvl1" or "farneback".

    Returns:
        float32 (H, W, 2): per pixel (u, v) displacement in pixels.
    """
    import cv2

    if method not in FLOW_METHODS:
        raise ValueError(f"Unknown flow method {method!r}. Choose one of {FLOW_METHODS}.")
    a, b = _gray(onset), _gray(apex)
    if a.shape != b.shape:
        raise ValueError(
            f"Onset and apex crops differ in size ({a.shape} vs {b.shape}); align both to the same size."
        )
    if method == "dis":
        flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)
    elif method == "tvl1":
        flow = cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return np.asarray(flow, dtype=np.float32)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude of a flow field (H, W, 2) -> (H, W) float32."""
    u, v = flow[..., 0], flow[..., 1]
    u_y, u_x = np.gradient(u)
    v_y, v_x = np.gradient(v)
    return np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2).astype(np.float32)


def flow_input(
    onset: np.ndarray, apex: np.ndarray, method: str = "dis", min_scale: float = 1.0
) -> np.ndarray:
    """The (H, W, 3) float32 network input: normalized u, v, strain.

    Args:
        onset: aligned onset crop (gray uint8 HxW).
        apex: aligned apex crop, same size, same alignment transform.
        method: see `compute_flow`.
        min_scale: smallest normalizer in pixels (see the module docstring).

    Returns:
        float32 (H, W, 3): u, v in [-1, 1], strain in [0, 1].
    """
    if min_scale <= 0:
        raise ValueError(f"min_scale must be > 0. Received: min_scale={min_scale}")
    flow = compute_flow(onset, apex, method)
    strain = optical_strain(flow)
    scale = max(float(np.abs(flow).max(initial=0.0)), min_scale)
    s_scale = max(float(strain.max(initial=0.0)), min_scale / 4)
    out = np.empty(flow.shape[:2] + (3,), dtype=np.float32)
    out[..., :2] = flow / scale
    out[..., 2] = strain / s_scale
    return out
