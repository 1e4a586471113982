"""The composite from the raw trees is exactly MEGC 2019's (442 / 68 / 250-109-83), by the official id list."""

from __future__ import annotations

import configparser
from collections import Counter
from pathlib import Path

import pytest
from datasets_trees import build_casme2, build_samm, build_smic
from megc_trees import build_megc_trees

from mer_tf.cli import main
from mer_tf.datasets import load_dataset
from mer_tf.datasets.megc_selection import MEGCSelection

# MEGC 2019's published counts (DATASETS.md): samples, subjects, negative / positive / surprise
MEGC2019 = {"casme2": (145, 24, 88, 32, 25), "samm": (133, 28, 92, 26, 15), "smic-hs": (164, 16, 70, 51, 43)}


def _quirks(report, text):
    return [q for q in report.quirks if text in q.what]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """Every listed clip plus the clips MEGC 2019 leaves out (a sadness, a fear, an apex "/", 'others')."""
    return build_megc_trees(tmp_path_factory.mktemp("megc"))


def test_official_list_is_megc2019():
    selection = MEGCSelection.official()
    assert len(selection) == 442
    assert Counter(selection.labels.values()) == {"negative": 250, "positive": 109, "surprise": 83}
    assert len({key[:2] for key in selection.labels}) == 68


def test_composite_is_exactly_megc2019(full):
    report = load_dataset(full, verify=False)  # auto -> composite, selection="megc2019"
    assert report.name == "composite"
    assert len(report.samples) == 442
    assert len({(s.dataset, s.subject) for s in report.samples}) == 68
    assert Counter(s.label3 for s in report.samples) == {"negative": 250, "positive": 109, "surprise": 83}
    counts = report.counts()
    for part, (samples, subjects, neg, pos, sur) in MEGC2019.items():
        assert (counts[part]["samples"], counts[part]["subjects"]) == (samples, subjects), part
        assert counts[part]["megc3"] == {"negative": neg, "positive": pos, "surprise": sur, "excluded": 0}, part
    # what MEGC leaves out is dropped, each with its reason
    dropped = {q.where: q.what for q in _quirks(report, "not in the selection list")}
    assert set(dropped) == {"casme2/sub10/EP11_01", "casme2/sub10/EP11_01f", "casme2/sub04/EP12_01f"}
    assert "'sadness'" in dropped["casme2/sub10/EP11_01"] and "'fear'" in dropped["casme2/sub10/EP11_01f"]
    assert "apex missing ('/')" in dropped["casme2/sub04/EP12_01f"]
    others = _quirks(report, "without a 3-class label")
    assert sorted((q.dataset, q.what) for q in others) == [
        ("casme2", "1 samples without a 3-class label (others)"), ("samm", "1 samples without a 3-class label (other)")]
    assert not _quirks(report, "missing clip") and not _quirks(report, "disagrees")


def test_selection_all_keeps_every_three_class_clip(full):
    report = load_dataset(full, dataset="composite", verify=False, selection="all")
    # the three non-'others' extras come back, and sub10 with them: as the raw sets give 455 / 69
    assert len(report.samples) == 445
    assert len({(s.dataset, s.subject) for s in report.samples}) == 69
    assert report.counts()["casme2"]["samples"] == 148


def test_missing_clips_label_disagreements_and_trailing_f(tmp_path):
    for name, build in (("CASME2", build_casme2), ("SAMM", build_samm), ("SMIC", build_smic)):
        build(tmp_path / name)
    ids = tmp_path / "ids.csv"
    ids.write_text("# a list of my own\ndataset,sub,filename_o,label\n"
                   "casme2,sub01,EP02_01f,1\n"       # as the sheet says
                   "casme2,sub01,EP03_02,2\n"        # sheet: disgust (negative): the list's label wins, reported
                   "casme2,sub02,EP01_11,0\n"        # sheet: EP01_11f
                   "casme2,sub05,EP01_01,0\n"        # no such clip
                   "samm,006,006_1_2,1\n"
                   "smic,s01,s01_ne_01,0\n"          # folders: s1/s1_ne_01
                   "smic,s02,s02_sur_01,2\n")
    report = load_dataset(tmp_path, selection=str(ids))
    assert sorted(s.key for s in report.samples) == [
        "casme2/sub01/EP02_01f", "casme2/sub01/EP03_02", "casme2/sub02/EP01_11f", "samm/006/006_1_2",
        "smic-hs/s01/s01_ne_01", "smic-hs/s02/s02_sur_01"]
    relabelled = next(s for s in report.samples if s.sample_id == "EP03_02")
    assert relabelled.label3 == "surprise" and relabelled.raw_label == "disgust"
    assert [q.where for q in _quirks(report, "disagrees with the selection list's surprise")] == ["casme2/sub01/EP03_02"]
    assert [q.where for q in _quirks(report, "missing clip")] == ["casme2/sub05/EP01_01"]
    assert [q.where for q in _quirks(report, "in the selection list (trailing 'f')")] == ["casme2/sub02/EP01_11f"]
    assert {q.where for q in _quirks(report, "not in the selection list")} >= {
        "casme2/sub03/EP01_08", "samm/028/028_4_1", "smic-hs/s01/s01_po_01"}


@pytest.mark.parametrize("content, message", [
    ("dataset,sub,label\ncasme2,sub01,1\n", r"missing column\(s\) \['filename_o'\]"),
    ("dataset,sub,filename_o,label\ncasme3,sub01,EP01_01,1\n", "data row 1: unknown dataset 'casme3'"),
    ("dataset,sub,filename_o,label\ncasme2,sub01,EP01_01,7\n", "data row 1: unknown label '7'"),
    ("dataset,sub,filename_o,label\nsmic,s01,s01_ne_01,0\nsmic,s1,s1_ne_1,0\n", "data row 2: duplicate id s1/s1_ne_1"),
])
def test_bad_id_list_is_named(tmp_path, content, message):
    build_smic(tmp_path / "SMIC")
    ids = tmp_path / "ids.csv"
    ids.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_dataset(tmp_path, dataset="composite", selection=ids)


def test_data_check_selection_flag(full, tmp_path, capsys):
    assert main(["data", "check", str(full), "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("composite: 442 samples, 68 subjects")
    assert "== casme2: 145 samples, 24 subjects" in out and "MEGC 3-class: negative 70, positive 51, surprise 43" in out
    assert main(["data", "check", str(full), "--no-verify", "--selection", "all"]) == 0
    assert capsys.readouterr().out.startswith("composite: 445 samples, 69 subjects")
    assert main(["data", "check", str(full), "--selection", "megc2020"]) != 0
    err = capsys.readouterr().err
    assert "selection='megc2020'" in err and "megc2019" in err and "Traceback" not in err


def test_id_list_ships_with_the_package():
    config = configparser.ConfigParser()
    config.read(Path(__file__).parents[1] / "setup.cfg")
    assert "megc2019_ids.csv" in config["options.package_data"]["mer_tf.datasets"]
    header = (Path(__file__).parents[1] / "mer_tf/datasets/megc2019_ids.csv").read_text().splitlines()[:3]
    assert "wangzhifengharrison/HTNet" in header[1] and "sha256" in header[2]
