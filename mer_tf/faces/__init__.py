"""Faces: detection (dlib HOG, BlazeFace), 68-point landmarks (dlib, MediaPipe
face mesh mapped to iBUG 68) and a stream tracker. No TensorFlow.

Backends load their libraries (dlib, LiteRT) only when created, so importing
this package is cheap and works on a device that has only one of them.
"""

from mer_tf.faces.box import Box
from mer_tf.faces.face_tracker import FaceTracker, TrackedFace
from mer_tf.faces.mesh_to_ibug68 import MESH_TO_IBUG68, mesh_to_ibug68
from mer_tf.faces.factory import (
    DETECTORS,
    LANDMARKERS,
    FaceDetector,
    Landmarker,
    create_detector,
    create_landmarker,
)

__all__ = [
    "Box",
    "DETECTORS",
    "LANDMARKERS",
    "MESH_TO_IBUG68",
    "TrackedFace",
    "FaceDetector",
    "FaceTracker",
    "Landmarker",
    "create_detector",
    "create_landmarker",
    "mesh_to_ibug68",
]
