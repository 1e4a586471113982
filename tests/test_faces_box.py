"""Box geometry and the factories' error handling (no model files needed)."""

import numpy as np
import pytest

from mer_tf.faces import Box, create_detector, create_landmarker
from mer_tf.faces.image import check_image


def test_box_size_iou_and_contains():
    a = Box(0, 0, 10, 20, 0.5)
    b = Box(5, 0, 15, 20)
    assert (a.width, a.height, a.area) == (10, 20, 200)
    assert a.iou(b) == pytest.approx(100 / 300)
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert a.scaled(2.0) == Box(-5, -10, 15, 30, 0.5)
    assert a.clipped(8, 8) == Box(0, 0, 8, 8, 0.5)
    mask = a.contains(np.array([[5, 5], [11.5, 5], [10.5, 5]]), tolerance=0.1)
    assert mask.tolist() == [True, False, True]
    assert Box.from_points(np.array([[1, 2], [3, 7]])) == Box(1, 2, 3, 7, 1.0)


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="blazeface"):
        create_detector("haar")
    with pytest.raises(ValueError, match="mediapipe"):
        create_landmarker("openface")


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((32, 32), np.float32), "uint8"),
        (np.zeros((32, 32, 2), np.uint8), "shape"),
        (np.zeros((4, 4), np.uint8), "too small"),
        ([[0, 1]], "numpy array"),
    ],
)
def test_bad_images_are_rejected_clearly(bad, match):
    with pytest.raises(ValueError, match=match):
        check_image(bad)
