"""Stage 1 enhancement and the stage 3 aligned crop (shared by training and device)."""

import json

import cv2
import numpy as np
import pytest

from mer_tf.faces import create_detector, create_landmarker
from mer_tf.faces.sample_photos import load_sample_photo
from mer_tf.preprocess import (
    FacePreprocessParams,
    ImagePreprocessParams,
    align_face,
    enhance,
    preprocess_face,
)


@pytest.fixture(scope="module")
def face():
    image = load_sample_photo("astronaut")
    box = create_detector("dlib").detect(image)[0]
    return image, create_landmarker("dlib").landmarks(image, box)


def test_enhance_returns_gray_with_more_contrast():
    rng = np.random.default_rng(0)
    low = (100 + 20 * rng.random((64, 64))).astype(np.uint8)  # a dull, low-contrast patch
    bgr = cv2.merge([low, low, low])
    out = enhance(bgr)
    assert out.shape == (64, 64) and out.dtype == np.uint8
    assert out.std() > 1.5 * low.std()
    plain = enhance(bgr, ImagePreprocessParams(clahe=False, unsharp=False))
    np.testing.assert_array_equal(plain, low)


def test_eyes_level_and_placed_where_the_params_say(face):
    image, pts = face
    params = FacePreprocessParams(size=96)
    crop, moved = align_face(image, pts, params)
    assert crop.shape == (96, 96) and crop.dtype == np.uint8
    left, right = moved[36:42].mean(0), moved[42:48].mean(0)
    assert abs(left[1] - right[1]) < 1e-3  # eyes level
    iod = params.size / (params.face_span * (1 + 2 * params.margin))
    assert np.linalg.norm(right - left) == pytest.approx(iod, rel=1e-4)
    assert (left[0] + right[0]) / 2 == pytest.approx(48, abs=1e-3)
    assert (moved >= 0).all() and (moved < 96).all()  # the whole face is inside the crop


def test_a_rotated_and_scaled_frame_gives_the_same_crop(face):
    image, pts = face
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 17.0, 1.3)
    rotated = cv2.warpAffine(image, m, (w, h))
    pts_rot = pts @ m[:, :2].T + m[:, 2]
    a = preprocess_face(image, pts)
    b = preprocess_face(rotated, pts_rot)
    assert a.shape == b.shape == (64, 64, 3) and a.dtype == np.float32
    assert np.abs(a - b).mean() < 0.04  # only resampling differences remain
    assert np.abs(a - b).mean() < np.abs(a - np.roll(a, 3, axis=1)).mean()


@pytest.mark.parametrize("normalization, lo, hi", [("unit", 0, 1), ("symmetric", -1, 1), ("per_image", -6, 6)])
def test_normalizations(face, normalization, lo, hi):
    image, pts = face
    x = preprocess_face(image, pts, FacePreprocessParams(normalization=normalization, channels=3))
    assert lo <= x.min() and x.max() <= hi
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # gray repeated as R, G, B
    if normalization == "per_image":
        assert abs(x.mean()) < 1e-4


def test_params_round_trip_through_preprocess_json(tmp_path):
    params = FacePreprocessParams(size=48, margin=0.2, normalization="symmetric",
                                  enhance=ImagePreprocessParams(clahe_tiles=8))
    path = params.save(tmp_path / "preprocess.json")
    stored = json.loads(path.read_text())
    assert stored["size"] == 48 and stored["channel_order"] == "RGB" and stored["enhance"]["clahe_tiles"] == 8
    assert FacePreprocessParams.load(tmp_path) == params
    assert FacePreprocessParams.from_dict(params.to_dict()) == params
    assert [p.name for p in tmp_path.iterdir()] == ["preprocess.json"]  # no temp file left


@pytest.mark.parametrize(
    "kwargs, match",
    [({"size": 4}, "size"), ({"normalization": "zscore"}, "normalization"), ({"channels": 2}, "channels"),
     ({"margin": -0.1}, "margin")],
)
def test_bad_params_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FacePreprocessParams(**kwargs)


def test_unknown_keys_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="Unknown preprocess"):
        FacePreprocessParams.from_dict({"size": 64, "colour": "rgb"})
    with pytest.raises(FileNotFoundError, match="preprocess.json"):
        FacePreprocessParams.load(tmp_path)


@pytest.mark.parametrize(
    "pts, match",
    [(np.zeros((5, 2)), "shape"), (np.full((68, 2), np.nan), "NaN"), (np.ones((68, 2)), "zero face size")],
)
def test_bad_landmarks_are_rejected(face, pts, match):
    with pytest.raises(ValueError, match=match):
        preprocess_face(face[0], pts)
