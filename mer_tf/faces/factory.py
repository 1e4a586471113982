"""The two face interfaces and the factories that pick a backend by name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from mer_tf.faces.box import Box

DETECTORS = ("dlib", "blazeface", "blazeface-full")
LANDMARKERS = ("dlib", "mediapipe", "mediapipe-attention")


@runtime_checkable
class FaceDetector(Protocol):
    """Anything with ``detect(image) -> list[Box]`` (uint8 BGR or gray in)."""

    name: str

    def detect(self, image: np.ndarray) -> list[Box]: ...


@runtime_checkable
class Landmarker(Protocol):
    """Anything with ``landmarks(image, box) -> (68, 2) float32`` in iBUG 68 order."""

    name: str

    def landmarks(self, image: np.ndarray, box: Box) -> np.ndarray: ...


def create_detector(name: str = "dlib", models_dir=None, tile: int | None = None, **kwargs) -> FaceDetector:
    """A face detector by name.

    Args:
        name: ``"dlib"`` (HOG, the paper's choice), ``"blazeface"`` (MediaPipe
            short-range BlazeFace in LiteRT: faces near the camera) or
            ``"blazeface-full"`` (full-range BlazeFace: far and small faces too).
        tile: when set, frames whose longer side exceeds 1.25 x ``tile`` px are
            also searched in overlapping tiles of that side (`TiledDetector`).
        models_dir: the folder of .tflite model files (a bundle's); default:
            the installed models folder. dlib reads its own package.
        **kwargs: passed to the backend (e.g. ``upsample=1`` for dlib,
            ``min_score=0.6`` for BlazeFace).
    """
    if name == "dlib":
        from mer_tf.faces.dlib_detector import DlibDetector

        detector = DlibDetector(**kwargs)
    elif name in ("blazeface", "blazeface-full"):
        from mer_tf.faces.blazeface_detector import BlazeFaceDetector

        detector = BlazeFaceDetector(models_dir=models_dir, model_range="full" if name.endswith("full") else "short",
                                     **kwargs)
    else:
        raise ValueError(f"Unknown face detector {name!r}; choose one of {DETECTORS}.")
    if tile:
        from mer_tf.faces.tiled_detector import TiledDetector

        return TiledDetector(detector, tile=tile)
    return detector


def create_landmarker(name: str = "dlib", models_dir=None, **kwargs) -> Landmarker:
    """A 68-point landmarker by name.

    Args:
        name: ``"dlib"`` (68-point shape predictor), ``"mediapipe"`` (face
            mesh, 468 points mapped onto iBUG 68; runs in LiteRT) or
            ``"mediapipe-attention"`` (the attention mesh: eyes and lips refined;
            LiteRT with MediaPipe's custom operators in NumPy).
        models_dir: the folder of .tflite model files (a bundle's); default:
            the installed models folder.
        **kwargs: passed to the backend.
    """
    if name == "dlib":
        from mer_tf.faces.dlib_landmarker import DlibLandmarker

        return DlibLandmarker(**kwargs)
    if name == "mediapipe":
        from mer_tf.faces.mediapipe_landmarker import MediaPipeLandmarker

        return MediaPipeLandmarker(models_dir=models_dir, **kwargs)
    if name == "mediapipe-attention":
        from mer_tf.faces.mediapipe_landmarker import MediaPipeLandmarker

        return MediaPipeLandmarker(models_dir=models_dir, attention=True, **kwargs)
    raise ValueError(f"Unknown landmarker {name!r}; choose one of {LANDMARKERS}.")
