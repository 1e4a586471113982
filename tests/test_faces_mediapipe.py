"""The real BlazeFace and face-mesh models (LiteRT) on the package photos, against dlib."""

import numpy as np
import pytest

from mer_tf.ecrl import extract_features
from mer_tf.faces import Box, create_detector, create_landmarker
from mer_tf.faces.blazeface_detector import ssd_anchors
from mer_tf.faces.dlib_mean_shape import dlib_mean_shape
from mer_tf.faces.ibug68 import interocular
from mer_tf.faces.mesh_to_ibug68 import MESH_TO_IBUG68, mesh_to_ibug68
from mer_tf.faces.model_files import model_path
from mer_tf.faces.sample_photos import SAMPLE_PHOTOS, load_sample_photo

CORNERS = {"eye outer L": 36, "eye inner L": 39, "eye inner R": 42, "eye outer R": 45, "mouth L": 48, "mouth R": 54}


@pytest.fixture(scope="module")
def models():
    return {
        "blazeface": create_detector("blazeface"),
        "dlib_det": create_detector("dlib"),
        "dlib": create_landmarker("dlib"),
        "mediapipe": create_landmarker("mediapipe"),
    }


def test_anchor_layout():
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 16, 0.5 / 16])  # stride 8: 16 x 16 cells, 2 per cell
    np.testing.assert_allclose(anchors[1], anchors[0])
    np.testing.assert_allclose(anchors[512], [0.5 / 8, 0.5 / 8])  # stride 16: 8 x 8 cells, 6 per cell
    np.testing.assert_allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


@pytest.mark.parametrize("photo", SAMPLE_PHOTOS)
def test_blazeface_finds_the_one_face_dlib_finds(photo, models):
    image = load_sample_photo(photo)
    [box] = models["blazeface"].detect(image)
    [ref] = models["dlib_det"].detect(image)
    assert 0.5 < box.score <= 1.0
    assert box.iou(ref) > 0.6
    kps = models["blazeface"].last_keypoints[0]  # eyes, nose tip, mouth, ears
    assert box.contains(kps[:4]).all()
    assert kps[0, 1] < kps[2, 1] < kps[3, 1]  # eye above nose above mouth


@pytest.mark.parametrize("photo", SAMPLE_PHOTOS)
def test_mesh_landmarks_are_plausible_and_agree_with_dlib(photo, models):
    image = load_sample_photo(photo)
    [box] = models["blazeface"].detect(image)
    mp = models["mediapipe"].landmarks(image, box)
    assert mp.shape == (68, 2) and mp.dtype == np.float32
    assert models["mediapipe"].last_score > 0.9
    assert box.contains(mp[17:], tolerance=0.05).all() and box.contains(mp, tolerance=0.2).all()
    assert mp[36:48, 1].mean() < mp[30, 1] < mp[48:68, 1].mean()
    dl = models["dlib"].landmarks(image, models["dlib_det"].detect(image)[0])
    iod = interocular(dl)
    for name, i in CORNERS.items():
        err = np.linalg.norm(mp[i] - dl[i]) / iod
        assert err < 0.08, f"{photo} {name}: {err:.3f} of the inter-ocular distance"


@pytest.mark.parametrize("landmarker", ["dlib", "mediapipe"])
def test_the_astronaut_smiles_against_a_neutral_template(landmarker, models):
    """Her mouth curvature against dlib's mean face (a population neutral; see dlib_mean_shape)."""
    image = load_sample_photo("astronaut")
    box = models["dlib_det"].detect(image)[0]
    feats = extract_features(models[landmarker].landmarks(image, box), dlib_mean_shape())
    assert feats["eq10_mouth_curvature"] > 0.02
    assert feats["au12"] > 0.05  # the corners are higher than the template's


def test_no_face_low_presence_and_empty_frames(models):
    blank = np.full((480, 640, 3), 128, np.uint8)
    assert models["blazeface"].detect(blank) == []
    models["mediapipe"].landmarks(blank, Box(200, 150, 400, 350))
    assert models["mediapipe"].last_score < 0.5


def test_mesh_map_and_errors(tmp_path, monkeypatch):
    assert len(MESH_TO_IBUG68) == 68 and all(0 <= v < 468 for vs in MESH_TO_IBUG68 for v in vs)
    mesh = np.arange(468 * 2, dtype=np.float32).reshape(468, 2)
    out = mesh_to_ibug68(mesh)
    np.testing.assert_allclose(out[36], mesh[33])
    np.testing.assert_allclose(out[27], (mesh[168] + mesh[6]) / 2)
    with pytest.raises(ValueError, match="468"):
        mesh_to_ibug68(np.zeros((68, 2)))
    monkeypatch.setenv("MER_TF_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make models"):
        model_path("face_landmark.tflite")
    with pytest.raises(FileNotFoundError, match="face_detection_short_range.tflite"):
        create_detector("blazeface")


@pytest.mark.parametrize("photo", SAMPLE_PHOTOS)
def test_dlib_landmarks_work_on_blazeface_boxes(photo, models):
    """Any detector with any landmarker: BlazeFace frames the face closely enough for dlib."""
    image = load_sample_photo(photo)
    on_hog = models["dlib"].landmarks(image, models["dlib_det"].detect(image)[0])
    on_blaze = models["dlib"].landmarks(image, models["blazeface"].detect(image)[0])
    err = np.linalg.norm(on_blaze - on_hog, axis=1) / interocular(on_hog)
    assert err[list(CORNERS.values())].max() < 0.08


@pytest.mark.parametrize("photo", SAMPLE_PHOTOS)
@pytest.mark.parametrize("angle", [-30, 30])
def test_mesh_on_a_rolled_head(photo, angle, models):
    """A head rolled by 30 degrees: the mesh is re-run on an upright crop and fits as well as upright."""
    import cv2

    image = load_sample_photo(photo)
    box = models["dlib_det"].detect(image)[0]
    truth = models["dlib"].landmarks(image, box)
    corners = list(CORNERS.values())
    upright = np.linalg.norm(models["mediapipe"].landmarks(image, box) - truth, axis=1)[corners].max()
    m = cv2.getRotationMatrix2D(box.center, angle, 1.0)
    rolled = cv2.warpAffine(image, m, image.shape[1::-1])
    expected = truth @ m[:2, :2].T + m[:, 2]
    got = models["mediapipe"].landmarks(rolled, box)  # the unrotated box: all a detector would give
    err = np.linalg.norm(got - expected, axis=1)[corners].max()
    iod = interocular(truth)
    assert err / iod < 0.10  # one axis-aligned pass missed the astronaut's corners by 0.22 IOD at 30 degrees
    assert (err - upright) / iod < 0.03
