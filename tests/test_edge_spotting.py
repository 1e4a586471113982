"""edge.spotting: running neutral baseline, onset/apex/offset, head motion is not expression."""

import numpy as np
import pytest

from edge.spotting import Spotter, SpotterParams, align_to, interocular

FPS = 100.0


@pytest.fixture(scope="module")
def face68():
    """Real 68 landmarks: dlib on a real portrait (grace_hopper, public domain)."""
    from mer_tf.faces import create_detector, create_landmarker
    from mer_tf.faces.sample_photos import load_sample_photo

    image = load_sample_photo("grace_hopper")
    box = max(create_detector("dlib").detect(image), key=lambda b: b.area)
    return create_landmarker("dlib").landmarks(image, box).astype(np.float64)


def _pose(points, dx=0.0, dy=0.0, angle_deg=0.0, scale=1.0):
    c = points.mean(0)
    a = np.deg2rad(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - c) @ rot.T + c + [dx, dy]


def _smile(points, amount):
    """Lip corners (48, 54) and their neighbours up and out by ``amount`` IODs."""
    out = points.copy()
    iod = interocular(points)
    for i, w in ((48, 1.0), (54, 1.0), (49, 0.5), (53, 0.5), (59, 0.5), (55, 0.5)):
        out[i, 1] -= amount * iod * w
        out[i, 0] += amount * iod * w * (-0.5 if i in (48, 49, 59) else 0.5)
    return out


def _feed(spotter, sequence, rng, jitter=0.003):
    spots = []
    iod = interocular(sequence[0])
    for i, pts in enumerate(sequence):
        noisy = pts + rng.normal(0, jitter * iod, pts.shape)
        spot = spotter.update(i, i / FPS, noisy, image=np.zeros((4, 4, 3), np.uint8))
        if spot:
            spots.append(spot)
    return spots


def _clip(face68, profile, lead=20, tail=20, drift=True):
    seq = []
    for i in range(lead + len(profile) + tail):
        amount = profile[i - lead] if lead <= i < lead + len(profile) else 0.0
        pose = dict(dx=3 * np.sin(i / 9), dy=2 * np.cos(i / 7), angle_deg=np.sin(i / 11)) if drift else {}
        seq.append(_pose(_smile(face68, amount), **pose))
    return seq


def test_align_to_removes_similarity_transforms(face68):
    moved = _pose(face68, dx=40, dy=-25, angle_deg=12, scale=1.3)
    np.testing.assert_allclose(align_to(moved, face68), face68, atol=1e-3)


def test_one_micro_expression_is_spotted_with_onset_apex_offset(face68):
    profile = [0.03, 0.07, 0.11, 0.14, 0.15, 0.15, 0.11, 0.07, 0.03]  # 90 ms, peak 0.15 IOD
    spots = _feed(Spotter(), _clip(face68, profile), np.random.default_rng(0))
    assert len(spots) == 1
    s = spots[0]
    assert s.complete
    assert 20 <= s.onset_index <= 22  # the rise starts at frame 20
    assert 23 <= s.apex_index <= 25  # the peak is frames 24-25
    assert 26 <= s.offset_index <= 30  # back to neutral from frame 29
    assert s.magnitude > s.threshold >= SpotterParams().min_onset
    assert s.apex_image is not None and s.apex_landmarks.shape == (68, 2)
    # the neutral baseline is the neutral face (in the baseline's own frame)
    assert np.abs(align_to(s.neutral, face68) - face68).max() < 0.05 * interocular(face68)


def test_head_motion_and_jitter_alone_are_not_expressions(face68):
    seq = [_pose(face68, dx=60 * np.sin(i / 15), dy=20 * np.sin(i / 10), angle_deg=10 * np.sin(i / 20),
                 scale=1 + 0.2 * np.sin(i / 25)) for i in range(300)]
    spotter = Spotter()
    assert _feed(spotter, seq, np.random.default_rng(1)) == []
    assert spotter.ready and spotter.deviation < spotter.threshold


def test_long_expression_is_not_micro_and_the_baseline_is_relearned(face68):
    profile = [0.05, 0.1, 0.15] + [0.15] * int(1.5 * FPS)  # held for 1.5 s, then released
    spotter = Spotter()
    spots = _feed(spotter, _clip(face68, profile, tail=40, drift=False), np.random.default_rng(2))
    assert spots == []  # neither the hold nor the release (relative to the re-learned baseline) is micro
    assert spotter.ready


def test_two_expressions_and_flush_of_an_unfinished_one(face68):
    profile = [0.05, 0.1, 0.15, 0.1, 0.05]
    seq = _clip(face68, profile, tail=30) + _clip(face68, profile, lead=20, tail=0)[:23]  # cut at the peak
    spotter = Spotter()
    spots = _feed(spotter, seq, np.random.default_rng(3))
    assert len(spots) == 1
    last = spotter.flush(len(seq), len(seq) / FPS)
    assert last is not None and not last.complete and last.onset_index > spots[0].offset_index
    assert spotter.flush(len(seq), len(seq) / FPS) is None


def test_bad_params_are_rejected():
    with pytest.raises(ValueError, match="release"):
        SpotterParams(release=1.5)
    with pytest.raises(ValueError, match="top_k"):
        SpotterParams(top_k=0)


def test_noisy_landmarks_still_settle_and_raise_the_threshold(face68):
    """A jittery landmarker (dlib on video: ~0.015 IOD per point) must not keep the baseline
    from settling (regression: a one-frame baseline made every frame look expressive), and
    the adaptive threshold rises above the noise instead of spotting it."""
    spotter = Spotter()
    seq = [face68] * 300
    assert _feed(spotter, seq, np.random.default_rng(4), jitter=0.015) == []
    assert spotter.ready and spotter.threshold > SpotterParams().min_onset
