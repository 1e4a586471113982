"""The attention mesh in LiteRT with MediaPipe's custom operators in NumPy: the operators' geometry,
the refined mesh on a real face, the 68-point landmarker, mer-edge's option, and no TensorFlow."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mer_tf.faces import create_detector, create_landmarker
from mer_tf.faces import mediapipe_ops as ops
from mer_tf.faces.attention_mesh import LEFT_EYE, LIPS, RIGHT_EYE, AttentionMesh
from mer_tf.faces.model_files import ATTENTION_MESH, model_path
from mer_tf.faces.sample_photos import load_sample_photo


@pytest.fixture(scope="module")
def hopper():
    img = load_sample_photo("grace_hopper")
    return img, create_detector("blazeface-full").detect(img)[0]


def test_transform_landmarks_is_the_matrix_affine_part():
    m = np.eye(4, dtype=np.float32)[None]
    m[0, :2, :2] = [[2, 0.5], [-0.5, 2]]
    m[0, :2, 3] = [10, -3]
    pts = np.array([[[0, 0], [1, 0], [0, 1], [4, 5]]], np.float32)
    out = ops.transform_landmarks(pts, m)
    assert np.allclose(out[0], pts[0] @ m[0, :2, :2].T + m[0, :2, 3])


def test_transform_tensor_bilinear_samples_pixel_centres_and_zero_outside():
    fmap = np.arange(8 * 8, dtype=np.float32).reshape(1, 8, 8, 1)
    shift = np.eye(4, dtype=np.float32)[None]
    shift[0, :2, 3] = [2, 3]  # crop pixel (x, y) -> map pixel (x + 2, y + 3)
    out = ops.transform_tensor_bilinear(fmap, shift, 4, 4)[0, ..., 0]
    assert np.allclose(out, fmap[0, 3:7, 2:6, 0])
    half = shift.copy()
    half[0, 0, 3] = 2.5  # half a pixel right: the mean of two neighbours
    out = ops.transform_tensor_bilinear(fmap, half, 4, 4)[0, ..., 0]
    assert np.allclose(out, (fmap[0, 3:7, 2:6, 0] + fmap[0, 3:7, 3:7, 0]) / 2)
    far = shift.copy()
    far[0, :2, 3] = [20, 20]
    assert not ops.transform_tensor_bilinear(fmap, far, 4, 4).any()


def test_landmarks_to_transform_matrix_frames_the_region_level_and_enlarged():
    # a region tilted by 30 degrees: 4 points of a 20 x 10 rectangle about (50, 40)
    a = np.deg2rad(30)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    corners = np.array([[-10, -5], [10, -5], [10, 5], [-10, 5]]) @ rot.T + [50, 40]
    lms = np.zeros((1, 6, 3), np.float32)
    lms[0, :4, :2] = corners
    lms[0, 4, :2], lms[0, 5, :2] = corners[0], corners[1]  # the rotation line: along the long side
    opts = {"left_rotation_idx": 4, "right_rotation_idx": 5, "subset_idxs": [0, 1, 2, 3], "output_width": 16,
            "output_height": 16, "scale_x": 1.5, "scale_y": 1.5, "target_rotation_radians": 0.0}
    m = ops.landmarks_to_transform_matrix(lms, opts)[0]
    centre = m[:2, :2] @ [8, 8] + m[:2, 3]
    assert np.allclose(centre, [50, 40], atol=1e-4)  # the crop's centre is the region's
    x_axis = m[:2, 0]
    assert np.isclose(np.arctan2(x_axis[1], x_axis[0]), a, atol=1e-5)  # turned with the region
    assert np.isclose(np.linalg.norm(x_axis) * 16, 1.5 * 20, atol=1e-4)  # 1.5x its width
    assert np.isclose(np.linalg.norm(m[:2, 1]) * 16, 1.5 * 10, atol=1e-4)


def test_the_model_runs_in_litert_with_the_custom_operators_in_numpy(hopper):
    img, box = hopper
    mesh_model = AttentionMesh(model_path(ATTENTION_MESH), num_threads=1)
    lm = create_landmarker("mediapipe", num_threads=1)
    lm.landmarks(img, box)
    import cv2

    side = 1.5 * max(box.width, box.height)
    s = 192 / side
    shift = 96 - s * np.asarray(box.center)
    crop = cv2.warpAffine(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), np.array([[s, 0, shift[0]], [0, s, shift[1]]]),
                          (192, 192)).astype(np.float32) / 255
    raw = mesh_model.run(crop[None])
    mesh, flag = mesh_model(crop[None])
    assert mesh.shape == (478, 3) and flag > 5  # a face, surely
    plain = raw["output_mesh_identity"].reshape(468, 3)
    # the refined lips and eyes are where the mesh put them, to within a couple of crop pixels
    for index in (LIPS, LEFT_EYE[:16], RIGHT_EYE[:16]):
        d = np.linalg.norm(mesh[list(index), :2] - plain[list(index), :2], axis=1)
        assert np.median(d) < 2.5 and d.max() < 8, d
    # each iris centre inside its eye: between the corners, near the lids' line
    for centre, (c0, c1) in ((468, (33, 133)), (473, (263, 362))):
        lo, hi = sorted((mesh[c0, 0], mesh[c1, 0]))
        assert lo < mesh[centre, 0] < hi
        assert abs(mesh[centre, 1] - (mesh[c0, 1] + mesh[c1, 1]) / 2) < 0.25 * (hi - lo)


def test_the_landmarker_option_gives_68_points_close_to_the_plain_mesh(hopper):
    img, box = hopper
    plain = create_landmarker("mediapipe", num_threads=1).landmarks(img, box)
    att = create_landmarker("mediapipe-attention", num_threads=1)
    pts = att.landmarks(img, box)
    assert pts.shape == (68, 2) and pts.dtype == np.float32
    assert att.last_mesh.shape == (478, 3) and att.last_score > 0.9 and att.name == "mediapipe-attention"
    iod = np.linalg.norm(plain[42:48].mean(0) - plain[36:42].mean(0))
    assert np.median(np.linalg.norm(pts - plain, axis=1)) < 0.1 * iod  # two models, one face


def test_runs_with_tensorflow_and_mediapipe_unimportable():
    code = textwrap.dedent("""
        import sys
        for name in ("tensorflow", "keras", "tf_keras", "mediapipe"):
            sys.modules[name] = None
        from mer_tf.faces import create_detector, create_landmarker
        from mer_tf.faces.sample_photos import load_sample_photo
        img = load_sample_photo("grace_hopper")
        box = create_detector("blazeface-full").detect(img)[0]
        pts = create_landmarker("mediapipe-attention", num_threads=1).landmarks(img, box)
        print(pts.shape)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and "(68, 2)" in r.stdout, r.stderr[-2000:]


def test_an_unknown_custom_operator_is_named(tmp_path):
    from ai_edge_litert import schema_py_generated as schema

    from mer_tf.faces.attention_mesh import _pack

    data = model_path(ATTENTION_MESH).read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    for code in model.operatorCodes:
        if code.customCode == b"TransformLandmarks":
            code.customCode = b"SomethingElse"
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(_pack(model, schema))
    with pytest.raises(ValueError, match="SomethingElse"):
        AttentionMesh(bad)
