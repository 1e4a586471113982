"""Flow blocks around the eyes and the mouth corners, tiled into one image (HTNet's input, NumPy only).

HTNet (Wang et al. 2024) does not read the whole 28x28 onset->apex flow image of
the MEGC 2019 release: it cuts four 14x14 blocks out of it, centred on the
eyes and the mouth corners of the apex face, and tiles them into a 28x28
mosaic. The facial muscles that move in a micro-expression sit there; the
cheeks, forehead and background do not.

mer-tf's reading of it, `eyes_mouth_mosaic`:
- centres: the mean of each eye's six iBUG-68 points (36-41, 42-47) and the
  two mouth corners (48, 54), found on the apex crop the flow was cut from
  and scaled to the flow image's pixels;
- blocks: half the flow image's side, centred there and clipped so that each
  block lies inside the image (HTNet clips the centres to [7, 21] at 28 px);
- mosaic: [[eye on the image's left, eye on the right], [mouth corner on the
  left, mouth corner on the right]], so that the mirror image of a mosaic is
  the mosaic of the mirrored face (the flip augmentation and the mirror
  averaging stay valid).

HTNet's own code indexes MTCNN's five points out of order and with x and y
swapped (its "l_lips" block is the right eye, cut transposed); mer-tf does
not copy that.
"""

from __future__ import annotations

import numpy as np

FLOW_REGIONS = ("whole", "eyes_mouth")


def check_flow_regions(regions: str, mode: str) -> None:
    """Raise a ValueError naming the fix unless `regions` is known and fits the input `mode`."""
    if regions not in FLOW_REGIONS:
        raise ValueError(f"Unknown flow regions {regions!r}. Choose one of {FLOW_REGIONS}.")
    if regions != "whole" and mode != "flow_image":
        raise ValueError(f"flow regions {regions!r} cut the flow image shipped with the data (input 'flow_image', the "
                         f"MEGC 2019 release); input {mode!r} has none. Use input 'flow_image' or flow regions 'whole'.")


def region_centres(landmarks: np.ndarray) -> np.ndarray:
    """(4, 2) x, y centres: left eye, right eye, left mouth corner, right mouth corner (image left/right)."""
    from mer_tf.faces.ibug68 import MOUTH_L, MOUTH_R, check_landmarks, eye_centers

    lm = check_landmarks(landmarks, "eyes_mouth flow regions' apex landmarks")
    return np.stack([*eye_centers(lm), lm[MOUTH_L], lm[MOUTH_R]])


def eyes_mouth_mosaic(flow: np.ndarray, landmarks: np.ndarray, landmark_shape: tuple[int, int]) -> np.ndarray:
    """The four flow blocks of a face tiled into one (2 b, 2 b, C) image, b = half the flow's shorter side
    (rounded down to even).

    Args:
        flow: (H, W, C) flow image at its own resolution (the release's 28x28).
        landmarks: (68, 2) x, y apex landmarks in the pixels of the image
            they were found on.
        landmark_shape: (height, width) of that image (the release's 224x224
            apex crop); the landmarks are scaled from it to the flow image.
    """
    flow = np.asarray(flow)
    h, w = flow.shape[:2]
    lh, lw = landmark_shape
    if min(h, w) < 2 or lh < 1 or lw < 1:
        raise ValueError(f"eyes_mouth flow regions: flow image {flow.shape} or landmark image {landmark_shape} "
                         "is too small.")
    half = min(h, w) // 4  # each block is half the side: 7 at 28 px, as HTNet's 14x14 blocks
    centres = region_centres(landmarks) * np.array([w / lw, h / lh])
    cx = np.clip(np.rint(centres[:, 0]).astype(int), half, w - half)
    cy = np.clip(np.rint(centres[:, 1]).astype(int), half, h - half)
    blocks = [flow[y - half:y + half, x - half:x + half] for x, y in zip(cx, cy)]
    top = np.concatenate(blocks[:2], axis=1)
    bottom = np.concatenate(blocks[2:], axis=1)
    return np.concatenate([top, bottom], axis=0)
