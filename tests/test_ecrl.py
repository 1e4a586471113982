"""ECRL on hand-built landmark faces whose feature values are computed by hand.

The neutral face is laid out in inter-ocular units (eye centres at (-0.5, 0)
and (0.5, 0), so IOD = 1), then scaled by 100 px and shifted: every expected
value below is arithmetic on the coordinates written here.
"""

import json

import numpy as np
import pytest

from mer_tf.ecrl import ECRL, FEATURE_NAMES, NeutralReference, extract_features, rules_table_markdown
from mer_tf.ecrl.rules import EVIDENCE, RULES

NEUTRAL_IOD = np.array(
    [(-1.0 + k / 8, 0.3 + 1.45 * (1 - ((k - 8) / 8) ** 2)) for k in range(17)]  # jaw; chin 8 at (0, 1.75)
    + [(-0.9, -0.4), (-0.75, -0.4), (-0.6, -0.4), (-0.45, -0.4), (-0.3, -0.4)]  # brow 17-21
    + [(0.3, -0.4), (0.45, -0.4), (0.6, -0.4), (0.75, -0.4), (0.9, -0.4)]  # brow 22-26
    + [(0.0, 0.0), (0.0, 0.2), (0.0, 0.4), (0.0, 0.6)]  # nose bridge 27-30
    + [(-0.2, 0.7), (-0.1, 0.7), (0.0, 0.7), (0.1, 0.7), (0.2, 0.7)]  # nose base 31-35
    + [(-0.75, 0), (-0.6, -0.1), (-0.4, -0.1), (-0.25, 0), (-0.4, 0.1), (-0.6, 0.1)]  # eye 36-41
    + [(0.25, 0), (0.4, -0.1), (0.6, -0.1), (0.75, 0), (0.6, 0.1), (0.4, 0.1)]  # eye 42-47
    + [(-0.5, 1.2), (-0.3, 1.1), (-0.1, 1.05), (0, 1.07), (0.1, 1.05), (0.3, 1.1), (0.5, 1.2),
       (0.3, 1.3), (0.1, 1.35), (0, 1.35), (-0.1, 1.35), (-0.3, 1.3)]  # outer lips 48-59
    + [(-0.4, 1.2), (-0.1, 1.2), (0, 1.2), (0.1, 1.2), (0.4, 1.2), (0.1, 1.2), (0, 1.2), (-0.1, 1.2)],  # inner 60-67
    dtype=np.float64,
)
# Neutral measures: brows 0.4 above the eye line; face height chin - brow top = 1.75 + 0.4 = 2.15;
# brow widths 0.6 + 0.6 = 1.2; brow gap 0.6; mouth width 1.0; corners on the lip line (curvature 0).
FACE_HEIGHT = 2.15


def px(iod_points, scale=100.0, shift=(320.0, 240.0)):
    return iod_points * scale + np.array(shift)


def moved(changes):
    pts = NEUTRAL_IOD.copy()
    for idx, (dx, dy) in changes.items():
        pts[list(idx)] += (dx, dy)
    return pts


EXPRESSIONS = {
    # corners up 0.1 and out 0.05 each
    "smile": (moved({(48,): (-0.05, -0.1), (54,): (0.05, -0.1)}), "Happy",
              {"au12": 0.1, "au20": 0.1, "au15": -0.1, "eq10_mouth_curvature": 0.1 / 1.1}),
    # brows up 0.1, upper lids up 0.05, lower lip and chin down 0.15
    "surprise": (moved({tuple(range(17, 27)): (0, -0.1), (37, 38, 43, 44): (0, -0.05),
                        (8, 55, 56, 57, 58, 59, 65, 66, 67): (0, 0.15)}), "Surprise",
                 {"au1": 0.1, "au2": 0.1, "au5": 0.05, "au26": 0.15, "au4": 0.0,
                  "eq8_brow_position": 0.1 / FACE_HEIGHT}),
    # corners down 0.06, inner brows up 0.06
    "sad": (moved({(48, 54): (0, 0.06), (20, 21, 22, 23): (0, -0.06)}), "Sad",
            {"au15": 0.06, "au12": -0.06, "au1": 0.06, "eq10_mouth_curvature": -0.06,
             "eq8_brow_position": 0.06 * 4 / 10 / FACE_HEIGHT}),
    # nose base up 0.06, inner brow ends 0.05 closer each (gap 0.6 -> 0.5)
    "disgust": (moved({tuple(range(31, 36)): (0, -0.06), (21,): (0.05, 0), (22,): (-0.05, 0)}), "Disgust",
                {"au9": 0.06, "au4": 0.1, "eq9_brow_width_ratio": (0.65 + 0.65) / 1.2 - 1}),
    # brows down 0.06, lower lids up 0.04
    "angry": (moved({tuple(range(17, 27)): (0, 0.06), (40, 41, 46, 47): (0, -0.04)}), "Angry",
              {"au4": 0.06, "au7": 0.04, "au1": -0.06, "eq8_brow_position": -0.06 / FACE_HEIGHT}),
    # inner brows up 0.08 and 0.05 closer, corners out 0.05 each
    "fear": (moved({(20, 23): (0, -0.08), (21,): (0.05, -0.08), (22,): (-0.05, -0.08),
                    (48,): (-0.05, 0), (54,): (0.05, 0)}), "Fear",
             {"au1": 0.08, "au4": 0.1, "au20": 0.1, "au12": 0.0}),
    "neutral": (NEUTRAL_IOD.copy(), None, {name: 0.0 for name in FEATURE_NAMES}),
}


def similarity(pts, angle_deg, scale, shift):
    t = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return pts @ rot.T * scale + np.asarray(shift)


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_hand_computed_features_and_verdicts(name):
    apex, label, expected = EXPRESSIONS[name]
    feats = extract_features(px(apex), px(NEUTRAL_IOD))
    assert set(feats) == set(FEATURE_NAMES)
    for key, value in expected.items():
        assert feats[key] == pytest.approx(value, abs=1e-9), key
    verdict = ECRL.default().predict(px(apex), px(NEUTRAL_IOD))
    assert verdict.label == label, verdict
    if label is None:
        assert verdict.rule is None and verdict.reason == "no rule fired"
    else:
        assert verdict.rule.startswith(label + ":") and verdict.score >= 1.0
        assert verdict.features == feats


def test_scores_are_the_mean_evidence_strength():
    # smile: AU12 = 0.1 / 0.03, EQ10_UP = (0.1 / 1.1) / 0.04
    v = ECRL.default().predict(px(EXPRESSIONS["smile"][0]), px(NEUTRAL_IOD))
    assert v.score == pytest.approx((0.1 / 0.03 + 0.1 / 1.1 / 0.04) / 2)
    assert {"AU12", "EQ10_UP", "AU20"} <= set(v.evidence) and "AU15" not in v.evidence


@pytest.mark.parametrize("name", ["smile", "surprise", "disgust"])
def test_head_pose_of_either_frame_does_not_matter(name):
    apex, label, _ = EXPRESSIONS[name]
    base = extract_features(px(apex), px(NEUTRAL_IOD))
    turned = extract_features(similarity(apex, 25, 37.0, (100, 80)), similarity(NEUTRAL_IOD, -10, 180.0, (5, 9)))
    for key in FEATURE_NAMES:
        # fit_rms is a square root of a difference of squares: ~1e-8 of rounding at zero
        assert turned[key] == pytest.approx(base[key], abs=1e-6 if key == "fit_rms" else 1e-9), key


def test_prepared_reference_gives_identical_features():
    apex = px(EXPRESSIONS["sad"][0])
    assert extract_features(apex, NeutralReference(px(NEUTRAL_IOD))) == extract_features(apex, px(NEUTRAL_IOD))


def test_alignment_residual_reports_a_bad_match():
    apex = px(EXPRESSIONS["smile"][0])
    other = NEUTRAL_IOD.copy()
    other[[27, 28, 29, 30], 0] += 0.1  # a different person's nose bridge
    assert extract_features(apex, px(NEUTRAL_IOD))["fit_rms"] == pytest.approx(0, abs=1e-12)
    assert extract_features(apex, px(other))["fit_rms"] > 0.01


@pytest.mark.parametrize(
    "landmarks, match",
    [
        (np.zeros((67, 2)), "shape"),
        (np.zeros((68, 3)), "shape"),
        ("not landmarks", "numeric|shape"),
        (np.full((68, 2), 5.0), "one point|zero"),
    ],
)
def test_degenerate_landmarks_raise_clear_errors(landmarks, match):
    with pytest.raises(ValueError, match=match):
        extract_features(landmarks, px(NEUTRAL_IOD))
    with pytest.raises(ValueError, match=match):
        extract_features(px(NEUTRAL_IOD), landmarks)


def test_nan_landmarks_give_no_verdict_not_nan():
    bad = px(NEUTRAL_IOD)
    bad[50] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        extract_features(bad, px(NEUTRAL_IOD))
    v = ECRL.default().predict(bad, px(NEUTRAL_IOD))
    assert v.label is None and v.features == {} and "NaN" in v.reason
    with pytest.raises(ValueError, match="shape"):
        ECRL.default().predict(bad[:10], px(NEUTRAL_IOD))


def test_collapsed_mouth_is_rejected():
    apex = NEUTRAL_IOD.copy()
    apex[[48, 54]] = (0.0, 1.2)
    with pytest.raises(ValueError, match="mouth"):
        extract_features(px(apex), px(NEUTRAL_IOD))


@pytest.mark.parametrize("part,points", [("eyes", range(36, 48)), ("brows", range(17, 27))])
def test_collapsed_eyes_or_brows_give_no_verdict_with_the_reason(part, points):
    """A smile whose eyes or brows the landmarker squeezed to one point is not "Happy": no verdict, and why."""
    apex = EXPRESSIONS["smile"][0].copy()
    assert ECRL.default().predict(px(apex), px(NEUTRAL_IOD)).label == "Happy"  # the intact face
    apex[list(points)] = apex[list(points)].mean(axis=0)
    verdict = ECRL.default().predict(px(apex), px(NEUTRAL_IOD))
    assert verdict.label is None and verdict.rule is None
    assert verdict.reason.startswith("unusable landmarks") and f"{part} collapsed" in verdict.reason


def test_rules_table_is_the_one_in_code():
    md = rules_table_markdown()
    for rule in RULES:
        assert f"| {rule.label} | {rule.emfacs} |" in md
    for name in EVIDENCE:
        assert f"| {name} |" in md
    assert {r.label for r in RULES} == {"Happy", "Surprise", "Fear", "Angry", "Disgust", "Sad"}


def test_save_load_round_trip(tmp_path):
    ecrl = ECRL({"AU12": 0.05, "AU9": 0.02}, calibration={"n_samples": 3})
    path = ecrl.save(tmp_path / "ecrl.json")
    data = json.loads(path.read_text())
    assert data["thresholds"]["AU12"] == 0.05 and data["thresholds"]["AU1"] == EVIDENCE["AU1"][2]
    again = ECRL.load(tmp_path)
    assert again.thresholds == ecrl.thresholds and again.calibration == {"n_samples": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["ecrl.json"]


def test_bad_thresholds_and_files(tmp_path):
    with pytest.raises(ValueError, match="AU99"):
        ECRL({"AU99": 0.1})
    with pytest.raises(ValueError, match="positive"):
        ECRL({"AU12": -1})
    with pytest.raises(FileNotFoundError, match="ECRL.default"):
        ECRL.load(tmp_path / "missing.json")
    (tmp_path / "ecrl.json").write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        ECRL.load(tmp_path)


def test_running_neutral_baseline():
    from mer_tf.ecrl import NeutralBaseline

    rng = np.random.default_rng(0)
    base = NeutralBaseline(warmup=4, alpha=0.5)
    assert base.reference is None and not base.ready
    for k in range(4):  # quiet frames of a moving head
        noisy = NEUTRAL_IOD + rng.normal(0, 0.005, NEUTRAL_IOD.shape)
        assert base.update(similarity(noisy, 5 * k, 80 + 10 * k, (300 + k, 200)))
    assert base.ready and base.count == 4
    # the average of posed quiet frames is the neutral face again (canonical frame, IOD 1)
    assert np.abs(base.landmarks - NEUTRAL_IOD).max() < 0.02  # noise 0.005 per point, 4 frames
    smile = px(EXPRESSIONS["smile"][0])
    verdict = ECRL.default().predict(smile, base.reference)
    assert verdict.label == "Happy"
    assert not base.update(smile, quiet=False)  # an expression does not enter the neutral
    assert base.count == 4
    bad = px(NEUTRAL_IOD)
    bad[3] = np.nan
    assert not base.update(bad)  # a lost face is skipped, not raised
    base.reset()
    assert not base.ready and base.landmarks is None
