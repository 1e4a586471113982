"""MediaPipe's three custom TFLite operators of the attention face mesh, in NumPy.

``face_landmark_with_attention.tflite`` (the refined lips, eyes and irises) uses three operators
that LiteRT does not have ("Encountered unresolved custom op: Landmarks2TransformMatrix").
They are small geometry, so `AttentionMesh` runs the model's builtin parts in LiteRT and these
in between. Written from the operators' published semantics (MediaPipe,
``mediapipe/util/tflite/operations/*.cc``, Apache-2.0), version 2 of each, as the model uses:

- ``Landmarks2TransformMatrix``: from the 468-point mesh, a 4x4 affine matrix that maps a
  ``output_width`` x ``output_height`` crop onto the region spanned by ``subset_idxs`` (lips, an
  eye), turned so the line ``left_rotation_idx`` -> ``right_rotation_idx`` is level and
  enlarged by ``scale_x``, ``scale_y``.
- ``TransformTensorBilinear``: that crop of a feature map (bilinear, half-pixel centres, zero
  outside the map).
- ``TransformLandmarks``: points predicted in the crop mapped back by the matrix.

Parameters come from each operator's custom options (a FlexBuffer map), read by
`flatbuffers.flexbuffers`, which LiteRT's own wheel depends on.
"""

from __future__ import annotations

import numpy as np


def options(raw) -> dict:
    """The custom options of an operator (FlexBuffer bytes) as a dict; {} when it has none."""
    if raw is None or len(raw) == 0:
        return {}
    from flatbuffers import flexbuffers

    return dict(flexbuffers.Loads(bytes(bytearray(np.asarray(raw, np.uint8)))))


def _rot(r: float) -> np.ndarray:
    c, s = np.cos(r), np.sin(r)
    return np.array([[c, -s], [s, c]])


def landmarks_to_transform_matrix(landmarks: np.ndarray, opts: dict) -> np.ndarray:
    """(1, 4, 4) float32 crop -> feature-map matrix for a (1, N, 3) landmark tensor (version 2)."""
    pts = np.asarray(landmarks, np.float64).reshape(-1, 3)[:, :2]
    left, right = pts[int(opts["left_rotation_idx"])], pts[int(opts["right_rotation_idx"])]
    rotation = float(opts.get("target_rotation_radians", 0.0)) - np.arctan2(right[1] - left[1], right[0] - left[0])
    subset = pts[np.asarray(opts["subset_idxs"], int).ravel()]
    turned = subset @ _rot(rotation).T  # the region levelled: its box is axis-aligned here
    lo, hi = turned.min(0), turned.max(0)
    width, height = hi - lo
    centre = _rot(-rotation) @ ((lo + hi) / 2)  # the box centre back in map coordinates
    out_w, out_h = float(opts["output_width"]), float(opts["output_height"])
    t = np.eye(4)
    t[:2, 3] = centre
    r = np.eye(4)
    r[:2, :2] = _rot(-rotation)
    s = np.diag([float(opts["scale_x"]) * width / out_w, float(opts["scale_y"]) * height / out_h, 1.0, 1.0])
    shift = np.eye(4)
    shift[:2, 3] = -out_w / 2.0, -out_h / 2.0
    return (t @ r @ s @ shift).astype(np.float32)[None]


def transform_tensor_bilinear(data: np.ndarray, matrix: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(1, out_h, out_w, C) float32: the crop of ``data`` (1, H, W, C) that ``matrix`` maps (version 2)."""
    fmap = np.asarray(data, np.float32)[0]
    h, w, _ = fmap.shape
    m = np.asarray(matrix, np.float64).reshape(4, 4)
    xt, yt = m[0].copy(), m[1].copy()
    # align corners: sample at pixel centres (T -> S (T A) with half-pixel shifts)
    xt[3] += xt[0] * 0.5 + xt[1] * 0.5 - 0.5
    yt[3] += yt[0] * 0.5 + yt[1] * 0.5 - 0.5
    oy, ox = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    tx = xt[0] * ox + xt[1] * oy + xt[3]
    ty = yt[0] * ox + yt[1] * oy + yt[3]
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    x0, y0 = np.floor(tx).astype(int), np.floor(ty).astype(int)
    fx, fy = (tx - x0)[..., None], (ty - y0)[..., None]

    def read(yy, xx):
        ok = (yy >= 0) & (xx >= 0) & (yy < h) & (xx < w)
        v = fmap[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        return np.where(ok[..., None], v, 0.0)

    upper = (1 - fx) * read(y0, x0) + fx * read(y0, x0 + 1)
    lower = (1 - fx) * read(y0 + 1, x0) + fx * read(y0 + 1, x0 + 1)
    out = fy * lower + (1 - fy) * upper
    return np.where(inside[..., None], out, 0.0).astype(np.float32)[None]


def transform_landmarks(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(1, N, 2) float32 crop points mapped by ``matrix``'s first two rows (version 2, 2-D points)."""
    p = np.asarray(points, np.float64)
    m = np.asarray(matrix, np.float64).reshape(4, 4)
    out = p @ m[:2, :2].T + m[:2, 3]
    return out.astype(np.float32)
