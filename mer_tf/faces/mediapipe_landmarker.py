"""MediaPipe face mesh (468 points, or the attention mesh's refined 478) in LiteRT, mapped onto iBUG 68 points."""

from __future__ import annotations

import cv2
import numpy as np

from mer_tf.faces.box import Box
from mer_tf.faces.image import to_rgb
from mer_tf.faces.litert import load_interpreter
from mer_tf.faces.mesh_to_ibug68 import mesh_to_ibug68
from mer_tf.faces.model_files import ATTENTION_MESH, model_path

MODEL_FILE = "face_landmark.tflite"
INPUT_SIZE = 192


class MediaPipeLandmarker:
    """68 landmarks from MediaPipe's face mesh model, run directly in LiteRT.

    The face is cut as a square of ``crop_scale`` times the box's larger side
    around the box centre (MediaPipe's own graph uses 1.5x the detection),
    resized to 192x192 RGB in [0, 1], and the 468 predicted vertices are
    mapped back to the frame and onto the iBUG 68 layout
    (``mesh_to_ibug68``). The model expects an upright face; when a pass finds
    the eye line tilted by more than ``max_roll_deg`` from the crop's axis,
    the face is cropped again, turned by that angle (MediaPipe's graph does
    the same with the detector's eye keypoints); at most three passes.

    With ``attention=True`` the model is MediaPipe's attention mesh
    (``face_landmark_with_attention.tflite``): the same mesh with the lips, eyes
    and irises refined by sub-networks that look at those regions again
    (`mer_tf.faces.attention_mesh`; its custom operators run in NumPy). The
    68 points are taken from the refined mesh the same way.

    Args:
        crop_scale: crop side / box side.
        max_roll_deg: eye-line tilt above which the second, upright pass runs.
        model_file: the .tflite path; default: ``MODEL_FILE`` in ``models_dir``.
        num_threads: LiteRT threads.
        models_dir: the folder of model files (a bundle's); default: the installed models folder.
        attention: use the attention mesh (refined eyes and lips) instead of the plain mesh.

    Attributes:
        last_score: the face-presence probability of the last call (the
            model's second output); low values mean the crop holds no face.
        last_mesh: the last (468, 3) mesh in frame pixels (z in the same
            pixel scale, relative); (478, 3) with the irises for the attention mesh.
    """

    name = "mediapipe"

    def __init__(self, crop_scale: float = 1.5, max_roll_deg: float = 10.0, model_file=None,
                 num_threads: int | None = None, models_dir=None, attention: bool = False):
        if not 1.0 <= crop_scale <= 3.0:
            raise ValueError(f"`crop_scale` must be in [1, 3]. Received: crop_scale={crop_scale}")
        self.crop_scale = float(crop_scale)
        self.max_roll_deg = float(max_roll_deg)
        self.last_score = 0.0
        self.last_mesh: np.ndarray | None = None
        self._attention = None
        if attention:
            import os

            from mer_tf.faces.attention_mesh import AttentionMesh

            self.name = "mediapipe-attention"
            threads = num_threads or int(os.environ.get("MER_TF_THREADS", "1"))
            self._attention = AttentionMesh(model_file or model_path(ATTENTION_MESH, models_dir), threads)
            return
        self._interp = load_interpreter(model_file or model_path(MODEL_FILE, models_dir), num_threads)
        inp = self._interp.get_input_details()[0]
        if tuple(inp["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{MODEL_FILE} has input shape {inp['shape']}; expected (1, 192, 192, 3).")
        self._input = inp["index"]
        outs = {int(np.prod(d["shape"])): d["index"] for d in self._interp.get_output_details()}
        self._mesh, self._flag = outs[1404], outs[1]

    def landmarks(self, image: np.ndarray, box: Box) -> np.ndarray:
        """(68, 2) float32 x, y pixel landmarks of the face in ``box``."""
        if not isinstance(box, Box):
            raise ValueError(f"`box` must be a mer_tf.faces.Box; received {type(box).__name__}.")
        if not (box.width > 1 and box.height > 1):
            raise ValueError(f"`box` is empty: {box}. Pass a box from a detector.")
        rgb = to_rgb(image)
        side = self.crop_scale * max(box.width, box.height)
        centre, angle = box.center, 0.0
        for _ in range(3):  # an upright pass, then up to two passes turned by the eye line's angle
            mesh = self._run(rgb, centre, side, angle)
            pts = mesh_to_ibug68(mesh[:468, :2])
            dx, dy = pts[42:48].mean(0) - pts[36:42].mean(0)
            tilt = float(np.arctan2(dy, dx))
            if abs(tilt - angle) <= np.deg2rad(self.max_roll_deg):
                break
            # the model expects an upright face: crop again, turned by the eyes' angle, about the nose
            centre, angle = tuple(pts[27:36].mean(0).tolist()), tilt
        self.last_mesh = mesh
        return pts

    def _run(self, rgb: np.ndarray, centre, side: float, angle: float) -> np.ndarray:
        """(468 or 478, 3) float32 mesh in frame pixels from a crop of ``side`` px about ``centre``, turned by ``-angle``."""
        scale = INPUT_SIZE / side
        cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
        rot = np.array([[cos, sin], [-sin, cos]])  # frame -> crop: undo the roll, scale
        shift = INPUT_SIZE / 2 - rot @ np.asarray(centre, dtype=np.float64)
        m = np.hstack([rot, shift[:, None]])
        # an affine warp: parts of the crop outside the frame are filled, not an error
        crop = cv2.warpAffine(rgb, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        x = (crop.astype(np.float32) / 255.0)[None]
        if self._attention is not None:
            mesh, flag = self._attention(x)
        else:
            self._interp.set_tensor(self._input, x)
            self._interp.invoke()
            mesh = self._interp.get_tensor(self._mesh).reshape(468, 3).astype(np.float64)
            flag = float(self._interp.get_tensor(self._flag).ravel()[0])
        self.last_score = float(1.0 / (1.0 + np.exp(-np.clip(flag, -50, 50))))
        out = np.empty_like(mesh)
        out[:, :2] = (mesh[:, :2] - shift) @ np.linalg.inv(rot).T  # crop pixels -> frame pixels
        out[:, 2] = mesh[:, 2] / scale
        return out.astype(np.float32)
