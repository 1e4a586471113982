"""Onset -> apex optical flow input (TF-free)."""

import cv2
import numpy as np
import pytest

from mer_tf.flow import compute_flow, flow_input, optical_strain


def _texture(size=96, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (size, size)).astype(np.uint8), (7, 7), 2)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_translation_recovered(method):
    a = _texture()
    b = cv2.warpAffine(a, np.float32([[1, 0, 2], [0, 1, -1]]), (96, 96), borderMode=cv2.BORDER_REFLECT)
    flow = compute_flow(a, b, method)
    centre = flow[24:72, 24:72]
    assert np.median(centre[..., 0]) == pytest.approx(2.0, abs=0.3)
    assert np.median(centre[..., 1]) == pytest.approx(-1.0, abs=0.3)


def test_input_channels_and_ranges():
    a = _texture()
    b = cv2.warpAffine(a, np.float32([[1.05, 0, -2], [0, 1.05, -2]]), (96, 96), borderMode=cv2.BORDER_REFLECT)
    x = flow_input(a, b)
    assert x.shape == (96, 96, 3) and x.dtype == np.float32
    assert np.abs(x[..., :2]).max() <= 1.0 + 1e-6
    assert 0.0 <= x[..., 2].min() and x[..., 2].max() <= 1.0 + 1e-6
    # A zoom has strain; identical frames have (almost) none and stay near zero.
    assert x[..., 2].mean() > 0.05
    still = flow_input(a, a.copy())
    assert np.abs(still).max() < 0.1


def test_strain_of_linear_stretch():
    yy, xx = np.mgrid[0:20, 0:20].astype(np.float32)
    flow = np.stack([0.1 * xx, np.zeros_like(yy)], axis=-1)  # u_x = 0.1
    assert np.allclose(optical_strain(flow), 0.1, atol=1e-5)


def test_bad_inputs_named():
    a = _texture()
    with pytest.raises(ValueError, match="'lk'"):
        compute_flow(a, a, "lk")
    with pytest.raises(ValueError, match="differ in size"):
        compute_flow(a, a[:50], "dis")
