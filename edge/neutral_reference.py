"""NeutralReference: one face's latest still, neutral frame: the "onset" of a flow model's input.

A flow model (`mer train --input flow`) was trained on the optical flow from a
clip's onset frame to its apex frame, both cropped with the onset frame's
alignment transform (`mer_tf.data.FeatureStore`: ``align_face(onset, lm_onset)``
and ``align_face(apex, lm_onset)``, neither enhanced). On the device the onset
is the last quiet frame before the expression rose above the threshold: a
frame the spotter learned its baseline from (still, below the threshold) whose
own deviation is well below the threshold (see `edge.stream.QUIET`), so the
slow first frames of a rise are not taken for neutral.

Memory stays flat: each face holds at most one frame reference (dropped as
soon as the crop is made) and one S x S uint8 crop.
"""

from __future__ import annotations

import numpy as np


class NeutralReference:
    """The neutral frame of one face and its aligned crop, made lazily and once.

    Args:
        frame_index: the index of the neutral frame in the stream.
        image: the frame (BGR uint8); held only until `crop` is first needed.
        landmarks: its 68 landmarks in image pixels; they fix the alignment
            transform of both flow crops, as in training.
        time: its stream time in seconds.
    """

    def __init__(self, frame_index: int, image: np.ndarray, landmarks: np.ndarray, time: float = 0.0):
        self.frame_index = int(frame_index)
        self.time = float(time)
        self.landmarks = np.array(landmarks, dtype=np.float32)  # a copy: the caller's array may change
        self._image: np.ndarray | None = image
        self._crop: np.ndarray | None = None

    @property
    def holds_frame(self) -> bool:
        """True until the crop is made (then only the small crop is kept)."""
        return self._image is not None

    def crop(self, params) -> np.ndarray:
        """The aligned gray crop (S, S) uint8 of the neutral frame (made once, then the frame is dropped)."""
        from mer_tf.preprocess import align_face

        if self._crop is None:
            self._crop, _ = align_face(self._image, self.landmarks, params)
            self._image = None
        return self._crop

    def align(self, image: np.ndarray, params) -> np.ndarray:
        """``image`` cropped with this frame's transform (the apex crop of a flow input)."""
        from mer_tf.preprocess import align_face

        crop, _ = align_face(image, self.landmarks, params)
        return crop
