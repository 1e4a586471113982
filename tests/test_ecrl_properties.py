"""Property tests: ECRL features ignore head pose; bad landmarks never give NaN."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mer_tf.ecrl import ECRL, FEATURE_NAMES, extract_features
from tests.test_ecrl import EXPRESSIONS, NEUTRAL_IOD, similarity

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

poses = st.tuples(
    st.floats(-180, 180),  # in-plane rotation, degrees
    st.floats(0.05, 500),  # scale: a 5 px to a 50 000 px face
    st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)),  # translation
)


@SETTINGS
@given(
    name=st.sampled_from(sorted(EXPRESSIONS)),
    noise_seed=st.integers(0, 2**31 - 1),
    face_pose=poses,
    neutral_pose=poses,
)
def test_features_unchanged_by_scale_translation_rotation(name, noise_seed, face_pose, neutral_pose):
    rng = np.random.default_rng(noise_seed)
    apex = EXPRESSIONS[name][0] + rng.normal(0, 0.01, NEUTRAL_IOD.shape)  # landmark noise
    neutral = NEUTRAL_IOD + rng.normal(0, 0.01, NEUTRAL_IOD.shape)
    base = extract_features(apex, neutral)
    posed = extract_features(similarity(apex, *face_pose), similarity(neutral, *neutral_pose))
    for key in FEATURE_NAMES:
        tol = 1e-6 if key == "fit_rms" else 1e-7
        assert math.isclose(posed[key], base[key], abs_tol=tol), (key, posed[key], base[key])
    ecrl = ECRL.default()
    assert ecrl.predict_features(posed).label == ecrl.predict_features(base).label


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)


@SETTINGS
@given(
    pts=st.one_of(
        arrays(np.float64, (68, 2), elements=finite_or_not),  # anything, NaN and inf included
        arrays(np.float64, (68, 2), elements=st.sampled_from([0.0, 1.0, 1e-300, 1e300])),  # coincident / tiny / huge
        arrays(np.float64, st.sampled_from([(0, 2), (67, 2), (68,), (68, 3), (2, 68), (1, 68, 2)]), elements=st.floats(0, 1)),
    ),
    as_neutral=st.booleans(),
)
def test_degenerate_landmarks_error_or_no_verdict_never_nan(pts, as_neutral):
    good = NEUTRAL_IOD * 100
    face, neutral = (good, pts) if as_neutral else (pts, good)
    try:
        feats = extract_features(face, neutral)
    except ValueError as err:
        assert str(err)  # a message, not a bare error
    else:
        assert all(math.isfinite(v) for v in feats.values()), feats
    if pts.shape == (68, 2):
        verdict = ECRL.default().predict(face, neutral)  # never raises for a (68, 2) array
        assert all(math.isfinite(v) for v in verdict.features.values())
        assert verdict.label is None or verdict.features


@SETTINGS
@given(width=st.sampled_from([0.0, 1e-12]), seed=st.integers(0, 1000))
def test_zero_face_width(width, seed):
    rng = np.random.default_rng(seed)
    flat = NEUTRAL_IOD * 100
    flat = flat.copy()
    flat[:, 0] = width * rng.random(68)  # every point on one vertical line
    verdict = ECRL.default().predict(flat, NEUTRAL_IOD * 100)
    assert verdict.label is None and verdict.reason
    verdict = ECRL.default().predict(NEUTRAL_IOD * 100, flat)
    assert verdict.label is None and verdict.reason
