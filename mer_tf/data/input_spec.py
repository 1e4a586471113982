"""What the network input is made of, and the key of its feature cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

INPUT_MODES = ("apex", "flow", "flow_image")
LANDMARK_SOURCES = ("detected", "ground_truth")


@dataclass(frozen=True)
class InputSpec:
    """How one sample becomes a network input and ECRL landmarks.

    Args:
        mode: "apex" (the paper's choice: the preprocessed apex frame) or
            "flow" (onset -> apex optical flow: u, v, strain, computed here)
            or "flow_image" (the u, v, strain image shipped with the data,
            e.g. the MEGC 2019 release's, each channel min-max scaled to
            0..1, resized to the input size).
        preprocess: `mer_tf.preprocess.FacePreprocessParams.to_dict()`; empty
            means the defaults.
        flow_method: "dis" (default, fast), "tvl1" or "farneback".
        landmarks: "detected" (default: the face detector + landmarker run on
            the frames, exactly as on the device; honest on the synthetic set,
            whose ground-truth landmarks would flatter ECRL) or "ground_truth"
            (the sample's `.npy` landmarks; only for checking the generator).
        detector: "dlib" (the paper's) or "blazeface".
        landmarker: "dlib" or "mediapipe".
        flow_regions: "flow_image" only: "whole" (default: the whole image)
            or "eyes_mouth" (HTNet's input: four blocks of the flow image
            around the eyes and mouth corners, placed by the apex landmarks
            and tiled into one image; `mer_tf.data.flow_regions`).
        centre_flow: "flow_image" only: subtract each image's median u and v,
            so that no motion reads 0 in every image
            (`mer_tf.data.flow_scaling.centre_flow`).
        standardize_flow: "flow_image" only, instead of centre_flow: each of
            u, v and strain minus its median and over its standard deviation
            (`mer_tf.data.flow_scaling.standardize_flow`).
    """

    mode: str = "apex"
    preprocess: dict = field(default_factory=dict)
    flow_method: str = "dis"
    landmarks: str = "detected"
    detector: str = "dlib"
    landmarker: str = "dlib"
    flow_regions: str = "whole"
    centre_flow: bool = False
    standardize_flow: bool = False

    def __post_init__(self):
        if self.mode not in INPUT_MODES:
            raise ValueError(f"Unknown input mode {self.mode!r}. Choose one of {INPUT_MODES}.")
        if self.landmarks not in LANDMARK_SOURCES:
            raise ValueError(
                f"Unknown landmark source {self.landmarks!r}. Choose one of {LANDMARK_SOURCES}."
            )
        from mer_tf.data.flow_regions import check_flow_regions
        from mer_tf.data.flow_scaling import check_flow_scaling
        from mer_tf.flow import FLOW_METHODS

        check_flow_regions(self.flow_regions, self.mode)
        check_flow_scaling(self.centre_flow, self.standardize_flow, self.mode)
        if self.flow_method not in FLOW_METHODS:
            raise ValueError(f"Unknown flow method {self.flow_method!r}. Choose one of {FLOW_METHODS}.")

    def params(self):
        """The `FacePreprocessParams` object of this spec."""
        from mer_tf.preprocess import FacePreprocessParams

        return FacePreprocessParams.from_dict(self.preprocess) if self.preprocess else FacePreprocessParams()

    @property
    def flow_scaling(self) -> str | None:
        """How the shipped flow image is re-scaled (`read_flow_image`'s `scaling`): None, "centre" or "standardize"."""
        return "centre" if self.centre_flow else "standardize" if self.standardize_flow else None

    @property
    def image_kind(self) -> str:
        """How the input's pixels mirror and augment (`Mirror`, the training flips): the mode, except that a
        re-scaled flow image is a signed flow field ("flow": u -> -u) rather than a min-max scaled one."""
        return "flow" if self.flow_scaling else self.mode

    @property
    def size(self) -> int:
        return int(self.params().size)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["preprocess"] = self.params().to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "InputSpec":
        names = ("mode", "preprocess", "flow_method", "landmarks", "detector", "landmarker", "flow_regions", "centre_flow",
                 "standardize_flow")
        known = {k: d[k] for k in names if k in d}
        return cls(**known)

    def key(self) -> str:
        """A short hash of everything that changes the cached features."""
        d = self.to_dict()
        if d["mode"] != "flow":
            d.pop("flow_method")  # changes only a computed flow
        if d["flow_regions"] == "whole":
            d.pop("flow_regions")  # the default keeps the keys of caches made before the option
        for name in ("centre_flow", "standardize_flow"):
            if not d[name]:
                d.pop(name)  # likewise
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha1(blob).hexdigest()[:12]
