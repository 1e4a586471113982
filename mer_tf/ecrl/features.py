"""ECRL features: the paper's Eq. 8-10 and landmark proxies of ten action units.

Every feature compares a face with the same person's neutral reference (the
onset frame of a clip, or a running neutral baseline on a stream). Both are
first put in one frame of reference:

1. the neutral is moved to a canonical frame: eye midpoint at the origin, the
   eye line along +x, inter-ocular distance (IOD, between the eye centres) 1;
2. the face is mapped onto that canonical neutral by the least-squares
   similarity transform (scale, rotation, translation) on the stable points
   (eye corners, nose bridge), which expressions hardly move.

So every feature is in units of the neutral's IOD (or a ratio), measured along
the neutral's own face axes, and does not change when either input is scaled,
shifted or rotated in the image plane. Image y grows downwards, so a rise is
``y_neutral - y_face``. Coordinates are complex numbers (x + iy): a similarity
transform is then one complex multiply-add.

The paper gives Eq. 8-10 as ratios without landmark indices; our reading,
with F the face, N its neutral, y(.) the mean image-y of iBUG points in the
canonical frame (eye line at y = 0, so -y is height above the eyes):

- Eq. 8  ``eq8_brow_position`` = (h(F) - h(N)) / H(N), h = -y(17..26) the
  brows' height above the eyes, H = y(8) - min y(17..26) the face height
  (chin to brow top). > 0: brows raised (surprise, fear).
- Eq. 9  ``eq9_brow_width_ratio`` = (W(F) / Wf) / (W(N) / Wf) - 1 with
  W = |p21 - p17| + |p26 - p22| the total brow width and Wf the face width;
  both faces share the neutral's face width, so it reduces to W(F)/W(N) - 1.
  < 0: brows narrowed or bunched (disgust, sadness).
- Eq. 10 ``eq10_mouth_curvature`` = c(F) - c(N), c = (y(61..63) - y(48, 54))
  / |p54 - p48|: the corners' height above the inner upper lip (the lip line,
  which a dropping jaw leaves in place) over the mouth width. > 0: corners
  rise (happy); < 0: they fall (sad).

The AU proxies are displacements against the neutral in IOD: rises of the
inner brow (20, 21, 22, 23: AU1), outer brow (17, 18, 25, 26: AU2), upper
lids (37, 38, 43, 44: AU5), lower lids (40, 41, 46, 47: AU7), nose base
(31-35: AU9) and mouth corners (48, 54: AU12); AU4 is the larger of the
inner-brow gap's shrinking (|p22 - p21|) and the brows' lowering; AU15 the
corners' drop relative to the inner upper lip; AU20 the mouth's widening;
AU26 the drop of the lower lip and chin (57, 66, 8).

Degenerate input (wrong shape, NaN/inf, both eyes or all stable points at one
spot, zero mouth or brow width, the eyes or the brows collapsed to a fifth of
the neutral's width or less) raises ValueError; nothing returns NaN.
"""

from __future__ import annotations

import math

import numpy as np

from mer_tf.faces import ibug68 as ib

FEATURE_NAMES = (
    "eq8_brow_position",  # Eq. 8: brow height above the eyes / face height, change vs neutral
    "eq9_brow_width_ratio",  # Eq. 9: (total brow width / face width), relative change vs neutral
    "eq10_mouth_curvature",  # Eq. 10: mouth height / |mouth width|, signed, change vs neutral
    "au1",  # inner brow raiser: rise of the inner brow ends (IOD)
    "au2",  # outer brow raiser: rise of the outer brow ends (IOD)
    "au4",  # brow lowerer: brows drawn together or lowered, the larger (IOD)
    "au5",  # upper lid raiser: rise of the upper lids (IOD)
    "au7",  # lid tightener: rise of the lower lids (IOD)
    "au9",  # nose wrinkler: rise of the nose base / nostrils (IOD)
    "au12",  # lip corner puller: rise of the mouth corners (IOD)
    "au15",  # lip corner depressor: corners drop relative to the upper lip (IOD)
    "au20",  # lip stretcher: mouth widening (IOD)
    "au26",  # jaw drop: drop of the lower lip and chin (IOD)
    "fit_rms",  # RMS residual of the stable-point alignment (IOD): tracking/identity quality
)

# Every feature needs only means of a few landmark groups, and a mean is linear
# in the coordinates; so one (2G, 136) matrix times the flattened landmarks
# gives them all, and the similarity fit's cross term is two more linear rows
# (per reference). The rest is scalar arithmetic on Python complex numbers.
_GROUPS = {
    "brows": ib.BROW_L + ib.BROW_R,
    "inner_brow": (20, 21, 22, 23),
    "outer_brow": (17, 18, 25, 26),
    "upper_lids": (37, 38, 43, 44),
    "lower_lids": (40, 41, 46, 47),
    "nose_base": ib.NOSE_BASE,
    "corners": (ib.MOUTH_L, ib.MOUTH_R),
    "upper_lip": (61, 62, 63),  # inner upper lip: the lip line, which a jaw drop leaves in place
    "lower": (57, 66, ib.CHIN),  # lower lip and chin
    "p17": (17,), "p21": (21,), "p22": (22,), "p26": (26,),
    "p48": (ib.MOUTH_L,), "p54": (ib.MOUTH_R,),
    "stable": ib.STABLE,
}
_NAMES = tuple(_GROUPS)
_W = np.zeros((2 * len(_GROUPS), 2 * ib.N_POINTS))
for _g, _idx in enumerate(_GROUPS.values()):
    for _i in _idx:
        _W[2 * _g, 2 * _i] = 1.0 / len(_idx)  # x mean
        _W[2 * _g + 1, 2 * _i + 1] = 1.0 / len(_idx)  # y mean
_STABLE = np.array(ib.STABLE)
# the stable points minus their mean, also linear: the fit's scale term comes out of the same
# product, centred before squaring (squaring raw pixel coordinates would cancel badly)
_CENTRED = np.zeros((2 * len(_STABLE), 2 * ib.N_POINTS))
for _k, _i in enumerate(ib.STABLE):
    _CENTRED[2 * _k, 2 * _i] = _CENTRED[2 * _k + 1, 2 * _i + 1] = 1.0
_CENTRED -= np.tile(_W[-2:], (len(_STABLE), 1))  # minus the stable mean's x row, y row, x row, ...
_G = len(_GROUPS)


COLLAPSED = 0.2  # a width below this fraction of the neutral's is a collapsed part, not an expression


def _flat(landmarks, name: str) -> np.ndarray:
    """(136,) float64 x0, y0, x1, y1, ... after a cheap check; full check on failure."""
    try:
        pts = np.asarray(landmarks, dtype=np.float64)
    except (TypeError, ValueError):
        pts = None
    # two reductions reject NaN (every comparison with it is False), inf and absurd magnitudes
    if pts is None or pts.shape != (ib.N_POINTS, 2) or not (-ib.MAX_COORD < pts.min() and pts.max() < ib.MAX_COORD):
        ib.check_landmarks(landmarks, name)  # raises with a clear message
    return pts.reshape(-1)


class NeutralReference:
    """A neutral face prepared once: canonical frame, fit rows, measurements.

    Build it once per clip or per baseline update and pass it to
    ``extract_features`` for every frame; that saves half the per-frame cost.

    Args:
        neutral: (68, 2) landmarks of the same person with a neutral face.
    """

    __slots__ = ("z", "matrix", "stable_mean", "stable_norm", "m")

    def __init__(self, neutral):
        pts = ib.check_landmarks(neutral, "neutral")
        z = pts[:, 0] + 1j * pts[:, 1]
        left, right = z[36:42].mean(), z[42:48].mean()
        axis = right - left
        extent = float(np.abs(z - z.mean()).max())
        if abs(axis) <= 1e-6 * max(extent, 1.0):
            raise ValueError("neutral landmarks have both eyes at one point (zero face size); no reference.")
        self.z = (z - 0.5 * (left + right)) / axis  # canonical: eye line on +x, IOD 1, eye midpoint at 0
        stable = self.z[_STABLE]
        self.stable_mean = complex(stable.mean())
        r = stable - self.stable_mean
        self.stable_norm = float(np.vdot(r, r).real)
        # conj(s) . r = sum (x rx + y ry) + i sum (x ry - y rx): two linear rows on the flat face
        rows = np.zeros((2, 2 * ib.N_POINTS))
        rows[0, 2 * _STABLE], rows[0, 2 * _STABLE + 1] = r.real, r.imag
        rows[1, 2 * _STABLE], rows[1, 2 * _STABLE + 1] = r.imag, -r.real
        self.matrix = np.vstack([_W, _CENTRED, rows])
        flat = np.column_stack([self.z.real, self.z.imag]).reshape(-1)
        self.m = _measure((_W @ flat).view(np.complex128).tolist())
        self.m["face_height"] = float(self.z.imag[ib.CHIN] - self.z.imag[list(_GROUPS["brows"])].min())
        self.m["eye_width"] = float(abs(self.z[39] - self.z[36]) + abs(self.z[45] - self.z[42]))
        if min(self.m["mouth_width"], self.m["brow_width"], self.m["face_height"]) < 1e-3:
            raise ValueError(
                "neutral landmarks are degenerate (zero mouth width, brow width or face height); "
                "use a frame where the landmarker found the whole face."
            )


def _measure(g: list) -> dict:
    """Measurements of one face from its group means (complex, canonical frame, ``_NAMES`` order)."""
    (brows, inner_brow, outer_brow, upper_lids, lower_lids, nose_base, corners, upper_lip, lower,
     p17, p21, p22, p26, p48, p54, _stable) = g
    mouth_width = abs(p54 - p48)
    return {
        "brow_height": -brows.imag,  # the eye line is y = 0 in the canonical frame
        "brow_width": abs(p21 - p17) + abs(p26 - p22),
        "brow_gap": abs(p22 - p21),
        "brow_y": brows.imag,
        "inner_brow_y": inner_brow.imag,
        "outer_brow_y": outer_brow.imag,
        "upper_lid_y": upper_lids.imag,
        "lower_lid_y": lower_lids.imag,
        "nose_base_y": nose_base.imag,
        "corners_y": corners.imag,
        "corner_drop": corners.imag - upper_lip.imag,
        "mouth_width": mouth_width,
        "curvature": (upper_lip.imag - corners.imag) / mouth_width if mouth_width > 0 else 0.0,
        "lower_y": lower.imag,
    }


def extract_features(landmarks, neutral) -> dict[str, float]:
    """ECRL features of a face against its neutral reference.

    Args:
        landmarks: (68, 2) x, y pixels, iBUG 68 order (the expressive frame).
        neutral: (68, 2) landmarks of the same person's neutral face, or a
            prepared ``NeutralReference`` (faster on streams).

    Returns:
        ``{name: float}`` for every name in ``FEATURE_NAMES``; all finite.
    """
    ref = neutral if isinstance(neutral, NeutralReference) else NeutralReference(neutral)
    flat = _flat(landmarks, "landmarks")
    out = ref.matrix @ flat  # (x, y) pairs: group means, centred stable points, the fit term
    v = out.view(np.complex128)  # as x + iy
    s_mean = complex(v[_G - 1])  # the "stable" group is the last group
    centred = out[2 * _G : -2]
    norm = float(centred @ centred)  # sum |s_k - mean|^2
    n = len(_STABLE)
    extent = abs(complex(v[0]) - s_mean) + abs(complex(v[8]) - s_mean)  # brows and chin/lower lip
    if not norm > 1e-12 * max(extent, 1.0) ** 2:
        raise ValueError("landmarks have the eye corners and nose bridge at one point (zero face size).")
    cross = complex(v[-1])  # conj(s) . r over the stable points
    a = cross / norm  # least squares: reference ~ a * (face - s_mean) + ref.stable_mean
    b = ref.stable_mean
    c, m = _measure((a * (v[:_G] - s_mean) + b).tolist()), ref.m
    if c["mouth_width"] < 1e-3 * m["mouth_width"]:
        raise ValueError("landmarks have both mouth corners at one point (zero mouth width).")
    # Eyes or brows squeezed to a point are a landmarker failure, not an expression: no face moves
    # them to a fifth of their neutral width (their rules would otherwise read it as AU4/AU5/AU7).
    if c["brow_width"] < COLLAPSED * m["brow_width"]:
        raise ValueError("landmarks have the brows collapsed to a point (brow width "
                         f"{c['brow_width'] / m['brow_width']:.2f} of the neutral's).")
    eye_width = abs(a) * (abs(complex(flat[78], flat[79]) - complex(flat[72], flat[73]))
                          + abs(complex(flat[90], flat[91]) - complex(flat[84], flat[85])))  # |p39-p36| + |p45-p42|
    if eye_width < COLLAPSED * m["eye_width"]:
        raise ValueError(f"landmarks have the eyes collapsed to a point (eye width {eye_width / m['eye_width']:.2f} "
                         "of the neutral's).")
    rms = (max(ref.stable_norm - abs(cross) ** 2 / norm, 0.0) / n) ** 0.5
    out = {
        "eq8_brow_position": (c["brow_height"] - m["brow_height"]) / m["face_height"],
        "eq9_brow_width_ratio": c["brow_width"] / m["brow_width"] - 1.0,
        "eq10_mouth_curvature": c["curvature"] - m["curvature"],
        "au1": m["inner_brow_y"] - c["inner_brow_y"],
        "au2": m["outer_brow_y"] - c["outer_brow_y"],
        "au4": max(m["brow_gap"] - c["brow_gap"], c["brow_y"] - m["brow_y"]),
        "au5": m["upper_lid_y"] - c["upper_lid_y"],
        "au7": m["lower_lid_y"] - c["lower_lid_y"],
        "au9": m["nose_base_y"] - c["nose_base_y"],
        "au12": m["corners_y"] - c["corners_y"],
        "au15": c["corner_drop"] - m["corner_drop"],
        "au20": c["mouth_width"] - m["mouth_width"],
        "au26": c["lower_y"] - m["lower_y"],
        "fit_rms": rms,
    }
    if not math.isfinite(sum(out.values())):  # one check: any NaN or inf makes the sum so
        bad = [k for k, val in out.items() if not math.isfinite(val)]
        raise ValueError(f"features {bad} are not finite: the landmarks are out of range; check their units.")
    return out
