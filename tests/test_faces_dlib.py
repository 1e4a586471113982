"""The real dlib HOG detector and 68-point predictor on photos shipped in packages."""

import cv2
import numpy as np
import pytest

from mer_tf.faces import Box, create_detector, create_landmarker
from mer_tf.faces.sample_photos import SAMPLE_PHOTOS as PHOTOS
from mer_tf.faces.sample_photos import load_sample_photo as load_photo


@pytest.fixture(scope="module")
def detector():
    return create_detector("dlib")


@pytest.fixture(scope="module")
def landmarker():
    return create_landmarker("dlib")


@pytest.mark.parametrize("photo", PHOTOS)
def test_one_face_with_plausible_landmarks(photo, detector, landmarker):
    image = load_photo(photo)
    boxes = detector.detect(image)
    assert len(boxes) == 1, boxes
    box = boxes[0]
    pts = landmarker.landmarks(image, box)
    assert pts.shape == (68, 2) and pts.dtype == np.float32
    # the jaw line may hang a little below a HOG box; the inner face may not
    assert box.contains(pts[17:], tolerance=0.05).all()
    assert box.contains(pts, tolerance=0.20).all()
    eyes_y = pts[36:48, 1].mean()
    nose_y = pts[30, 1]
    mouth_y = pts[48:68, 1].mean()
    assert eyes_y < nose_y < mouth_y


def test_gray_and_bgr_give_the_same_boxes(detector):
    image = load_photo("astronaut")
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert detector.detect(gray) == detector.detect(image)


def test_blank_frame_has_no_faces(detector):
    assert detector.detect(np.full((480, 640), 128, np.uint8)) == []


def test_upsample_option_is_checked():
    with pytest.raises(ValueError, match="upsample"):
        create_detector("dlib", upsample=5)


def test_empty_box_is_rejected(landmarker):
    with pytest.raises(ValueError, match="empty"):
        landmarker.landmarks(load_photo("astronaut"), Box(10, 10, 10, 40))
