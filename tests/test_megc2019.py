"""The MEGC 2019 release loader, the flow_image input and the subject-mean neutral (TF-free)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from megc2019_tree import ROWS, build_release

from mer_tf.cli import main
from mer_tf.data.feature_store import read_flow_image
from mer_tf.datasets import detect_layout, load_dataset
from mer_tf.ecrl import extract_features
from mer_tf.ecrl.calibration import calibrate
from mer_tf.ecrl.subject_neutral import mean_shape, with_subject_neutrals
from mer_tf.faces.dlib_mean_shape import dlib_mean_shape
from mer_tf.training.config import TrainConfig


def _quirks(report, text):
    return [q for q in report.quirks if text in str(q)]


def test_reads_every_sample_with_source_subject_label_and_files(tmp_path):
    report = load_dataset(build_release(tmp_path), dataset="megc2019")
    assert len(report.samples) == len(ROWS)
    by_id = {s.sample_id: s for s in report.samples}
    for dataset, sub, clip, cls in ROWS:
        s = by_id[clip]
        assert (s.subject, s.label3) == (sub, cls)
        assert s.dataset == {"casme2": "casme2", "samm": "samm", "smic": "smic-hs"}[dataset]
        assert s.frames[0].is_file() and s.flow.name == f"{sub}_{clip} .png"
        assert s.neutral == "subject_mean" and s.onset == s.apex == 0
    assert by_id["EP02_01f"].label7 == "Happy" and by_id["006_1_2"].label7 is None
    counts = report.counts()
    assert counts["smic-hs"]["megc3"] == {"negative": 2, "positive": 1, "surprise": 1, "excluded": 0}
    assert counts["samm"]["subjects"] == 2
    # the release's naming traps are reported, once each, and read as shipped
    assert len(_quirks(report, "apex crops are not named")) == 1 and "4 apex crops" in str(_quirks(report, "apex crops")[0])
    assert "11 flow images" in str(_quirks(report, "space before .png")[0])


def test_label_codes_come_from_smic_clip_names(tmp_path):
    swapped = {"negative": "2", "positive": "0", "surprise": "1"}
    report = load_dataset(build_release(tmp_path, codes=swapped), dataset="megc2019")
    assert {s.sample_id: s.label3 for s in report.samples} == {clip: cls for _, _, clip, cls in ROWS}


def test_contradicting_codes_are_an_error_naming_the_code(tmp_path):
    rows = ROWS + [("smic", "s03", "s03_po_07", "negative")]  # a positive clip coded negative
    with pytest.raises(ValueError, match="label code '0' names several SMIC classes"):
        load_dataset(build_release(tmp_path, rows=rows), dataset="megc2019")


def test_without_smic_the_convention_is_used_and_said(tmp_path):
    rows = [r for r in ROWS if r[0] != "smic"]
    report = load_dataset(build_release(tmp_path, rows=rows), dataset="megc2019")
    assert {s.sample_id: s.label3 for s in report.samples} == {r[2]: r[3] for r in rows}
    assert _quirks(report, "SMIC rows settle only")


def test_quirks_missing_files_unknown_label_duplicate_unknown_source(tmp_path):
    extra = [
        {"dataset": "casme2", "sub": "sub09", "filename_o": "EP01_01", "label": "1"},  # no files
        {"dataset": "casme2", "sub": "sub01", "filename_o": "EP19_05f", "label": "0"},  # duplicate
        {"dataset": "samm", "sub": "006", "filename_o": "006_1_2", "label": "7"},  # unknown code (and duplicate)
        {"dataset": "casme3", "sub": "spNO.1", "filename_o": "a", "label": "0"},  # unknown source
    ]
    root = build_release(tmp_path, extra_csv_rows=extra)
    (root / "datasets" / "STSNet_whole_norm_u_v_os" / "s02_s02_ne_02 .png").unlink()  # a missing flow image
    report = load_dataset(root, dataset="megc2019")
    assert len(report.samples) == len(ROWS) - 1
    assert _quirks(report, "sub09/EP01_01 (row 13): missing apex crop and flow image")
    assert _quirks(report, "s02/s02_ne_02 (row 12): missing flow image")
    assert _quirks(report, "sub01/EP19_05f (row 14): duplicate id (first on row 3)")
    assert _quirks(report, "unknown label code '7'")
    assert _quirks(report, "unknown source dataset 'casme3'")


def test_missing_csv_column_and_auto_detection(tmp_path):
    root = build_release(tmp_path / "r")
    assert detect_layout(root) == ["megc2019"]
    assert load_dataset(root).name == "megc2019"
    assert TrainConfig(data=str(root), dataset="auto").class_scheme == "megc3"
    csv_path = root / "combined_3_class2_for_optical_flow.csv"
    csv_path.write_text(csv_path.read_text().replace("label,", "emotion,", 1))
    with pytest.raises(ValueError, match=r"missing columns \['label'\]"):
        load_dataset(root, dataset="megc2019")


def test_data_check_prints_counts_per_class_and_source(tmp_path, capsys):
    root = build_release(tmp_path)
    assert main(["data", "check", str(root), "--dataset", "megc2019"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("megc2019: 11 samples, 6 subjects")
    assert "== casme2: 4 samples, 2 subjects" in out and "MEGC 3-class: negative 2, positive 1, surprise 1" in out


def test_flow_image_is_u_v_strain_in_unit_range(tmp_path):
    root = build_release(tmp_path)
    sample = load_dataset(root, dataset="megc2019").samples[0]
    bgr = np.zeros((28, 28, 3), np.uint8)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 20, 30  # strain, v, u as OpenCV reads the PNG
    cv2.imwrite(str(sample.flow), bgr)
    x = read_flow_image(sample, 28)
    assert x.shape == (28, 28, 3) and x.dtype == np.float32
    assert np.allclose(x[0, 0], np.array([30, 20, 10]) / 255.0)
    assert read_flow_image(sample, 56).shape == (56, 56, 3)
    sample.flow.unlink()
    with pytest.raises(FileNotFoundError, match="Cannot read flow image"):
        read_flow_image(sample, 28)


def _similar(points, scale, angle, shift):
    z = (points[:, 0] + 1j * points[:, 1]) * scale * np.exp(1j * angle) + complex(*shift)
    return np.stack([z.real, z.imag], axis=-1)


def test_subject_mean_is_the_shape_whatever_the_pose():
    base = dlib_mean_shape().astype(np.float64) * 100.0
    poses = [_similar(base, s, a, t) for s, a, t in [(1, 0, (0, 0)), (1.3, 0.2, (40, -5)), (0.7, -0.1, (3, 90))]]
    mean = mean_shape(poses)
    # the mean has the base shape: every ECRL feature against it is zero
    feats = extract_features(base, mean)
    assert max(abs(v) for v in feats.values()) < 1e-6


def test_with_subject_neutrals_per_subject_only_where_asked(tmp_path):
    from dataclasses import dataclass, replace

    @dataclass(frozen=True)
    class F:
        apex_landmarks: np.ndarray
        neutral_landmarks: np.ndarray

    report = load_dataset(build_release(tmp_path), dataset="megc2019")
    samples = report.samples[:4]  # casme2: sub01 x2, sub02 x2
    base = dlib_mean_shape().astype(np.float64) * 100.0
    smile = base.copy()
    smile[[48, 54], 1] -= 3.0  # mouth corners up
    feats = [F(base, base), F(smile, smile), F(base, base), F(base, base)]
    out = with_subject_neutrals(samples, feats)
    # sub01's neutral is the mean of base and smile: the smile shows as half a smile against it
    assert np.allclose(out[0].neutral_landmarks, out[1].neutral_landmarks)
    half = extract_features(smile, out[1].neutral_landmarks)["au12"]
    assert half == pytest.approx(0.5 * extract_features(smile, base)["au12"], rel=0.05)
    assert np.allclose(out[2].neutral_landmarks, base, atol=1e-4)
    onset = [replace(s, neutral="onset") for s in samples]
    assert all(o.neutral_landmarks is f.neutral_landmarks for o, f in zip(with_subject_neutrals(onset, feats), feats))


def test_ecrl_calibrates_on_three_class_labels():
    base = dlib_mean_shape().astype(np.float64) * 100.0
    smile, down = base.copy(), base.copy()
    smile[[48, 54], 1] -= 4.0
    down[[48, 54], 1] += 4.0
    apex = [smile] * 4 + [down] * 4
    labels = ["positive"] * 4 + ["negative"] * 4
    thresholds, summary = calibrate(apex, [base] * 8, labels)
    assert summary["evidence"]["AU12"]["n_pos"] == 4 and summary["evidence"]["AU15"]["n_pos"] == 4
    assert summary["label_counts"] == {"negative": 4, "positive": 4}
    with pytest.raises(ValueError, match="Unknown labels"):
        calibrate(apex, [base] * 8, ["positive"] * 7 + ["happy-ish"])

