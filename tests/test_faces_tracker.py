"""FaceTracker on a two-face stream built from the package photos."""

import cv2
import numpy as np
import pytest

from mer_tf.faces import FaceTracker, create_detector, create_landmarker
from mer_tf.faces.sample_photos import load_sample_photo


@pytest.fixture(scope="module")
def two_faces():
    a = load_sample_photo("astronaut")  # 512 x 512
    g = cv2.resize(load_sample_photo("grace_hopper"), (512, 600))[44:556]  # 512 x 512
    return np.hstack([a, g])  # 512 x 1024, astronaut left, Grace Hopper right


def frames(base, n, dx=2, dy=1):
    h, w = base.shape[:2]
    for k in range(n):
        yield cv2.warpAffine(base, np.float32([[1, 0, dx * k], [0, 1, dy * k]]), (w, h), borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="module")
def backends():
    return create_detector("dlib"), create_landmarker("dlib")


def test_two_faces_keep_their_ids_and_follow_motion(two_faces, backends):
    tracker = FaceTracker(*backends, redetect_every=4)
    history = {}
    for k, frame in enumerate(frames(two_faces, 9)):
        faces = tracker.update(frame)
        assert len(faces) == 2, k
        for f in faces:
            history.setdefault(f.id, []).append(f)
    assert sorted(history) == [0, 1]
    assert tracker.detections == 3  # frames 0, 4, 8
    left = min(history.values(), key=lambda fs: fs[0].box.x0)
    assert all(f.box.x0 < 512 for f in left)  # the left id stays on the left face
    # the face moved 2 px right per frame; the tracked box follows (within landmark jitter)
    moved = left[-1].landmarks[36:48, 0].mean() - left[0].landmarks[36:48, 0].mean()
    assert moved == pytest.approx(16, abs=3)
    assert [f.detected for f in left] == [True, False, False, False, True, False, False, False, True]


def test_lost_face_triggers_a_detection(two_faces, backends):
    tracker = FaceTracker(*backends, redetect_every=100)
    first = tracker.update(two_faces)
    assert len(first) == 2 and tracker.detections == 1
    # jump the picture by 250 px: the carried-over boxes no longer hold the faces
    jumped = cv2.warpAffine(two_faces, np.float32([[1, 0, 250], [0, 1, 0]]), (1024, 512))
    tracker.update(jumped)
    faces = tracker.update(jumped)
    assert tracker.detections == 2
    assert len(faces) >= 1 and all(f.landmarks.shape == (68, 2) for f in faces)


def test_empty_frames_and_reset(backends):
    tracker = FaceTracker(*backends, redetect_every=3)
    blank = np.full((240, 320), 127, np.uint8)
    assert tracker.update(blank) == [] and tracker.update(blank) == []
    assert tracker.detections == 2  # nothing to follow: detect on every frame
    tracker.reset()
    assert tracker.detections == 0
    with pytest.raises(ValueError, match="redetect_every"):
        FaceTracker(*backends, redetect_every=0)


def test_mediapipe_pair_tracks_too():
    # short-range BlazeFace sees the frame at 128 x 128: faces must fill a good part of it
    a = load_sample_photo("astronaut")[40:280, 100:340]  # 240 x 240, face about 90 px
    g = cv2.resize(load_sample_photo("grace_hopper"), (256, 300))[10:250, 10:250]  # face about 110 px
    close = np.hstack([a, g])  # 240 x 480
    tracker = FaceTracker(create_detector("blazeface"), create_landmarker("mediapipe"), redetect_every=5)
    ids = [sorted(f.id for f in tracker.update(frame)) for frame in frames(close, 6, dx=1)]
    assert ids == [[0, 1]] * 6 and tracker.detections == 2


def test_another_face_in_the_same_place_gets_a_new_id(backends):
    astronaut = load_sample_photo("astronaut")
    grace = load_sample_photo("grace_hopper")
    det = backends[0]
    a, g = det.detect(astronaut)[0], det.detect(grace)[0]
    s = a.width / g.width  # put Grace Hopper's face exactly where the astronaut's was
    m = np.float32([[s, 0, a.x0 - s * g.x0], [0, s, a.y0 - s * g.y0]])
    swapped = cv2.warpAffine(grace, m, (512, 512), borderMode=cv2.BORDER_REPLICATE)
    [moved] = det.detect(swapped)
    assert moved.iou(a) > 0.5  # the detector alone would call it the same face
    tracker = FaceTracker(*backends, redetect_every=1)
    [first] = tracker.update(astronaut)
    [second] = tracker.update(swapped)
    assert first.id == 0 and second.id == 1
    [third] = tracker.update(swapped)
    assert third.id == 1  # and it keeps its new id
