"""Loaders on miniature trees in the real CASME II, SAMM and SMIC layouts, every quirk planted."""

from __future__ import annotations

import shutil

import pytest
from datasets_trees import (
    CASME2_HEADER,
    SAMM_HEADER,
    build_casme2,
    build_samm,
    build_smic,
    write_frames,
    write_sheet,
)

from mer_tf.datasets import detect_layout, load_dataset
from mer_tf.datasets.frames import frame_number


def _by_id(report):
    return {s.sample_id: s for s in report.samples}


def _quirks(report, text):
    return [q for q in report.quirks if text in q.what]


@pytest.fixture(scope="module")
def casme2(tmp_path_factory):
    return build_casme2(tmp_path_factory.mktemp("casme2"))


@pytest.fixture(scope="module")
def samm(tmp_path_factory):
    return build_samm(tmp_path_factory.mktemp("samm"))


@pytest.fixture(scope="module")
def smic(tmp_path_factory):
    return build_smic(tmp_path_factory.mktemp("smic"))


def test_casme2_samples_labels_and_frame_order(casme2):
    report = load_dataset(casme2, dataset="casme2")
    samples = _by_id(report)
    # 9 rows: the empty clip and the missing folder are skipped, counted as quirks.
    assert sorted(samples) == ["EP01_08", "EP01_11f", "EP02_01f", "EP03_02", "EP05_03", "EP12_01f", "EP13_02"]
    happy = samples["EP02_01f"]
    assert happy.subject == "sub01" and happy.dataset == "casme2" and happy.group == "sub01"
    assert [frame_number(p) for p in happy.frames] == [98, 99, 100, 101, 102, 103]  # numeric, not text order
    assert happy.frame_numbers == (98, 99, 100, 101, 102, 103)
    assert (happy.onset, happy.apex, happy.offset) == (0, 2, 5)
    assert (happy.label7, happy.label3, happy.action_units) == ("Happy", "positive", "12")
    assert (samples["EP01_11f"].label7, samples["EP01_11f"].label3) == (None, "negative")  # repression
    assert (samples["EP05_03"].label7, samples["EP05_03"].label3) == (None, None)  # others
    assert samples["EP13_02"].raw_label == "happiness"  # "Happiness " normalized


def test_casme2_quirks_reported(casme2):
    report = load_dataset(casme2, dataset="casme2")
    samples = _by_id(report)
    slash = _quirks(report, "apex missing")
    assert [q.where for q in slash] == ["casme2/sub04/EP12_01f"]
    assert slash[0].row == 9  # header on row 1, EP12_01f is the 8th data row
    assert samples["EP12_01f"].apex == 3 and samples["EP12_01f"].quirks  # middle of 20..26 is 23
    outside = _quirks(report, "outside onset..offset")
    assert [q.where for q in outside] == ["casme2/sub04/EP13_02"]
    assert samples["EP13_02"].apex == 2  # middle of 30..34
    missing = _quirks(report, "frames missing")
    assert {q.where for q in missing} >= {"casme2/sub03/EP01_08"}
    assert samples["EP01_08"].frame_numbers == (10, 11, 13, 14, 15, 16)
    assert samples["EP01_08"].apex == 2  # frame 13
    unreadable = _quirks(report, "unreadable image")
    assert len(unreadable) == 1 and unreadable[0].what.endswith("img42.jpg")
    assert 42 not in samples["EP03_02"].frame_numbers
    assert [q.where for q in _quirks(report, "empty clip")] == ["casme2/sub03/EP07_01"]
    assert [q.where for q in _quirks(report, "no clip folder")] == ["casme2/sub03/EP08_01"]
    assert [q.where.split("/")[-1] for q in _quirks(report, "not in the coding sheet")] == ["EP99_99"]
    assert "quirks" in report.summary() and "EP12_01f" in report.summary()


def test_casme2_counts(casme2):
    counts = load_dataset(casme2, dataset="casme2").counts()["casme2"]
    assert counts["samples"] == 7 and counts["subjects"] == 4
    assert counts["seven"]["Happy"] == 2 and counts["seven"]["Disgust"] == 2 and counts["seven"]["Surprise"] == 1
    assert counts["seven"]["excluded"] == 2
    assert counts["megc3"] == {"negative": 3, "positive": 2, "surprise": 1, "excluded": 1}


def test_casme2_cropped_tree_and_newer_sheet(casme2, tmp_path):
    root = tmp_path / "c"
    shutil.copytree(casme2, root)
    (root / "CASME2-coding-20140508.xlsx").rename(root / "CASME2-coding-20190701.xlsx")
    report = load_dataset(root, dataset="casme2", variant="cropped")
    happy = _by_id(report)["EP02_01f"]
    assert happy.frames[0].name == "reg_img98.jpg" and happy.frames[0].parent.name == "EP02_01"
    assert any("trailing 'f'" in q.what for q in report.quirks)


def test_casme2_sheet_without_blank_columns(tmp_path):
    rows = [(1, "EP01_01", 1, 2, 3, "12", "happiness", range(1, 4))]
    build_casme2(tmp_path, rows=rows, cropped=False)
    header = [c for c in CASME2_HEADER if c]  # a release without the unnamed columns
    write_sheet(tmp_path / "CASME2-coding-20140508.xlsx", [header, (1, "EP01_01", 1, 2, 3, "12", "happiness")])
    report = load_dataset(tmp_path, dataset="casme2")
    assert [s.label7 for s in report.samples] == ["Happy"]


def test_samm_preamble_subject_ids_and_quirks(samm):
    report = load_dataset(samm, dataset="samm")
    samples = _by_id(report)
    assert sorted(samples) == ["006_1_2", "007_3_1", "011_2_3", "028_4_1", "032_3_1"]
    first = samples["006_1_2"]
    assert first.subject == "006"  # sheet says 6
    assert first.frame_numbers[0] == 5561 and (first.onset, first.apex, first.offset) == (1, 3, 5)
    assert (first.label7, first.label3) == ("Happy", "positive")
    assert _quirks(report, "apex missing")[0].where == "samm/007/007_3_1"
    assert _quirks(report, "apex missing")[0].row == 16  # header on Excel row 14
    assert _quirks(report, "outside onset..offset")[0].where == "samm/028/028_4_1"
    assert samples["028_4_1"].apex == 2
    assert _quirks(report, "'or'")[0].where == "samm/011/011_2_3"
    assert (samples["011_2_3"].label7, samples["011_2_3"].label3) == (None, "negative")  # contempt
    assert (samples["032_3_1"].label7, samples["032_3_1"].label3) == (None, None)
    assert _quirks(report, "integers (6)")


def test_smic_modalities_labels_and_middle_apex(smic):
    report = load_dataset(smic, dataset="smic")
    counts = report.counts()
    assert set(counts) == {"smic-hs", "smic-vis", "smic-nir"}
    assert counts["smic-hs"]["samples"] == 3 and counts["smic-hs"]["subjects"] == 2
    hs = {s.sample_id: s for s in report.samples if s.dataset == "smic-hs"}
    assert sorted(hs) == ["s01_ne_01", "s01_po_01", "s02_sur_01"]
    ne = hs["s01_ne_01"]
    assert ne.subject == "s01" and (ne.label3, ne.label7) == ("negative", None)
    assert (ne.onset, ne.apex, ne.offset) == (0, 2, 5) and ne.frames[0].name == "reg_image063901.bmp"
    assert hs["s02_sur_01"].label7 == "Surprise"
    assert [q.where for q in _quirks(report, "frames missing")] == ["smic-hs/s02/s02_sur_01"]
    assert [q.where for q in _quirks(report, "empty clip")] == ["smic-hs/s02/s02_ne_02"]
    assert _quirks(report, "non_micro") and _quirks(report, "say s1")
    mapped = load_dataset(smic, dataset="smic", label_map={"positive": "Happy"})
    assert {s.label7 for s in mapped.samples if s.raw_label == "positive"} == {"Happy"}


def test_composite_and_auto(casme2, samm, smic, tmp_path):
    for name, src in (("CASME2", casme2), ("SAMM_v2", samm), ("SMIC", smic)):
        shutil.copytree(src, tmp_path / name)
    assert detect_layout(tmp_path / "CASME2") == ["casme2"]
    assert detect_layout(tmp_path / "SAMM_v2") == ["samm"]
    assert detect_layout(tmp_path / "SMIC") == ["smic"]
    assert load_dataset(tmp_path / "SAMM_v2").name == "samm"
    report = load_dataset(tmp_path, selection="all")  # auto: the three trees -> composite, every 3-class clip
    assert report.name == "composite"
    counts = report.counts()
    assert {k: v["samples"] for k, v in counts.items() if k != "composite"} == {"casme2": 6, "samm": 4, "smic-hs": 3}
    assert all(s.label3 is not None for s in report.samples)
    dropped = _quirks(report, "without a 3-class label")
    assert {q.dataset for q in dropped} == {"casme2", "samm"}
    three = load_dataset([tmp_path / "CASME2", tmp_path / "SAMM_v2", tmp_path / "SMIC"], dataset="composite",
                         selection="all")
    assert len(three.samples) == len(report.samples)


def test_samm_counts_follow_datasets_md(tmp_path):
    """DATASETS.md: SAMM's 159 clips (Anger 57, Happiness 26, Other 26, Surprise 15, Contempt 12, Disgust 9,
    Fear 8, Sadness 6) give the MEGC composite 92 negative / 26 positive / 15 surprise."""
    published = {"Anger": 57, "Happiness": 26, "Other": 26, "Surprise": 15, "Contempt": 12, "Disgust": 9,
                 "Fear": 8, "Sadness": 6}
    rows, n = [], 0
    for emotion, count in published.items():
        for _ in range(count):
            n += 1
            subject = 6 + n % 32
            rows.append((subject, f"{subject:03d}_1_{n}", 1, 2, 3, "", emotion, range(1, 4)))
    report = load_dataset(build_samm(tmp_path, rows=rows), dataset="samm", verify=False)
    counts = report.counts()["samm"]
    assert counts["samples"] == 159 and counts["subjects"] == 32
    assert counts["megc3"] == {"negative": 92, "positive": 26, "surprise": 15, "excluded": 26}
    assert counts["seven"] == {"Neutral": 0, "Happy": 26, "Surprise": 15, "Angry": 57, "Fear": 8, "Disgust": 9,
                               "Sad": 6, "excluded": 38}


@pytest.mark.parametrize("renamed", ["ApexFrame", "Estimated Emotion", "Filename"])
def test_renamed_column_is_named(tmp_path, renamed):
    build_casme2(tmp_path, rows=[(1, "EP01_01", 1, 2, 3, "12", "happiness", range(1, 4))], cropped=False)
    header = [("Apex Frm" if c == renamed else c) for c in CASME2_HEADER]
    sheet = write_sheet(tmp_path / "CASME2-coding-20140508.xlsx", [header, (1, "EP01_01", None, 1, 2, 3, None, "", "happiness")])
    with pytest.raises(ValueError) as err:
        load_dataset(tmp_path, dataset="casme2")
    message = str(err.value)
    assert str(sheet) in message and "header row 1" in message and "missing or renamed" in message


def test_samm_missing_column_is_named(tmp_path):
    header = [c for c in SAMM_HEADER if c != "Onset Frame"]
    with pytest.raises(ValueError, match=r"header row 14: missing or renamed column\(s\) \['onset'\]"):
        build_samm(tmp_path, header=header)
        load_dataset(tmp_path, dataset="samm")


def test_unknown_emotion_names_file_row_column(tmp_path):
    build_casme2(tmp_path, rows=[(1, "EP01_01", 1, 2, 3, "12", "joy", range(1, 4))], cropped=False)
    with pytest.raises(ValueError, match=r"'joy' in coding sheet .*CASME2-coding-20140508.xlsx, row 2, column 'Estimated Emotion'"):
        load_dataset(tmp_path, dataset="casme2")
    report = load_dataset(tmp_path, dataset="casme2", label_map={"joy": "Happy"})
    assert [(s.label7, s.label3) for s in report.samples] == [("Happy", "positive")]


def test_missing_path_and_unknown_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "random").mkdir()
    write_frames(tmp_path / "random" / "clip", ["a1", "a2"])
    with pytest.raises(ValueError, match="Cannot tell which dataset .* Expected one of: CASME II"):
        load_dataset(tmp_path / "random")
    with pytest.raises(FileNotFoundError, match="No CASME II coding sheet .* Expected a folder holding CASME2_RAW_selected"):
        load_dataset(tmp_path / "random", dataset="casme2") if (tmp_path / "random/CASME2_RAW_selected").mkdir() is None else None
    with pytest.raises(ValueError, match="dataset=.*'casme3'"):
        load_dataset(tmp_path, dataset="casme3")


def test_unreadable_sheet_is_named(tmp_path):
    build_casme2(tmp_path, rows=[(1, "EP01_01", 1, 2, 3, "12", "happiness", range(1, 4))], cropped=False)
    (tmp_path / "CASME2-coding-20140508.xlsx").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="Cannot read coding sheet .*CASME2-coding-20140508.xlsx"):
        load_dataset(tmp_path, dataset="casme2")


# DATASETS.md "Label maps": raw label -> (seven-class, MEGC 3-class)
DATASETS_MD_MAPS = {
    "happiness": ("Happy", "positive"), "surprise": ("Surprise", "surprise"), "anger": ("Angry", "negative"),
    "fear": ("Fear", "negative"), "disgust": ("Disgust", "negative"), "sadness": ("Sad", "negative"),
    "repression": (None, "negative"), "contempt": (None, "negative"), "others": (None, None), "other": (None, None),
}


def test_loader_labels_follow_datasets_md(tmp_path):
    rows = [(1 + i % 3, f"EP{i + 1:02d}_01", 1, 2, 3, "", raw.capitalize(), range(1, 4))
            for i, raw in enumerate(DATASETS_MD_MAPS)]
    report = load_dataset(build_casme2(tmp_path, rows=rows, cropped=False), dataset="casme2")
    got = {s.raw_label: (s.label7, s.label3) for s in report.samples}
    assert got == DATASETS_MD_MAPS
    # configurable: repression / contempt to a seven-class label
    mapped = load_dataset(tmp_path, dataset="casme2", label_map={"repression": "Disgust", "contempt": "Disgust"})
    assert {s.raw_label: s.label7 for s in mapped.samples}["repression"] == "Disgust"
    assert {s.raw_label: s.label3 for s in mapped.samples}["repression"] == "negative"


def test_casme2_subject_cells_in_folder_form(tmp_path):
    build_casme2(tmp_path, rows=[(1, "EP01_01", 1, 2, 3, "12", "happiness", range(1, 4))], cropped=False)
    write_sheet(tmp_path / "CASME2-coding-20140508.xlsx",
                [CASME2_HEADER, ("sub01", "EP01_01", None, 1, 2, 3, None, "12", "happiness")])
    write_sheet(tmp_path / "CASME2-ObjectiveClasses.xlsx", [["Subject", "Filename", "Objective Class"]])
    report = load_dataset(tmp_path, dataset="casme2")
    assert [s.subject for s in report.samples] == ["sub01"]
    assert _quirks(report, "not plain integers (e.g. 'sub01'")
