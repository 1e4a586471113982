"""Re-scaling the MEGC 2019 release's flow images, image by image (`--centre-flow`, `--standardize-flow`; NumPy only).

The release min-max scales every channel (u, v, strain) of every flow image to
0..1 on its own, so the level that means "no motion", and the scale, move from
image to image. `centre_flow` puts u and v's zero back at each image's median;
`standardize_flow` turns each channel into a z-score, which undoes the min-max
scaling altogether. Either way the result is a signed flow field, mirrored as
u -> -u (`InputSpec.image_kind` is then "flow").
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("centre", "standardize")


def check_flow_scaling(centre: bool, standardize: bool, mode: str) -> None:
    """Raise a ValueError naming the fix unless the flow image's re-scaling fits the input `mode` (flow_image only)."""
    for name, value in (("centre_flow", centre), ("standardize_flow", standardize)):
        if not isinstance(value, bool):
            raise ValueError(f"`{name}` must be true or false. Received: {name}={value!r}")
        if value and mode != "flow_image":
            raise ValueError(f"{name} re-scales the flow image shipped with the data (input 'flow_image', the MEGC "
                             f"2019 release); input {mode!r} has none. Use input 'flow_image' or drop {name}.")
    if centre and standardize:
        raise ValueError("centre_flow and standardize_flow are two ways to re-scale the flow image (standardize_flow "
                         "centres too); choose one.")


def centre_flow(image: np.ndarray) -> np.ndarray:
    """A flow image whose u and v read 0 where nothing moved: each minus its own median over the image.

    The release min-max scales every channel of every image to 0..1, so the
    level that means "no motion" moves from image to image (on the release,
    the median u runs .26-.76 and the median v .14-.88 between the 5th and
    95th percentiles of its 442 images, against a spread of about .13 inside
    one image). Most of a face does not move in a micro-expression, so the
    median is that level. Strain (>= 0, its median near 0) is unchanged.
    The result is a signed flow field in the image's own units: its mirror
    image is u -> -u (`Mirror("flow")`), exactly.
    """
    out = np.array(image, dtype=np.float32, copy=True)
    out[..., :2] -= np.median(out[..., :2], axis=(0, 1))
    return out


def standardize_flow(image: np.ndarray) -> np.ndarray:
    """A flow image whose u, v and strain are each a z-score over the image: minus its median, over its std.

    Min-max scaling (x - min) / (max - min), which the release applied to
    every channel of every image, leaves the scale set by the image's two
    most extreme pixels; dividing the centred channel by its standard
    deviation undoes that scale, so the result is the same whatever the
    min and max were: (x - median(x)) / std(x) of the flow before scaling
    (up to the PNG's 8 bits). A channel with no spread (std under 1e-6)
    is only centred. The mirror image is u -> -u (`Mirror("flow")`), exactly,
    as for `centre_flow`.
    """
    out = np.array(image, dtype=np.float32, copy=True)
    out -= np.median(out, axis=(0, 1))
    std = out.std(axis=(0, 1))
    return out / np.where(std > 1e-6, std, 1.0).astype(np.float32)


def rescale(image: np.ndarray, scaling: str) -> np.ndarray:
    """`image` re-scaled by `scaling` ("centre" or "standardize"; `InputSpec.flow_scaling`)."""
    if scaling not in SCALINGS:
        raise ValueError(f"Unknown flow image scaling {scaling!r}. Choose None or one of {SCALINGS}.")
    return centre_flow(image) if scaling == "centre" else standardize_flow(image)
