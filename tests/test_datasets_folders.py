"""Which folder a clip is read from: SMIC raw vs cropped trees side by side; CASME II names with and without "f"."""

from __future__ import annotations

import pytest
from datasets_trees import CASME2_HEADER, write_frames, write_sheet

from mer_tf.cli import main
from mer_tf.datasets import load_dataset
from mer_tf.datasets.frames import frame_number


def _quirks(report, text):
    return [q for q in report.quirks if text in q.what]


@pytest.fixture()
def smic_both(tmp_path):
    """SMIC/SMIC_all_raw (image*.bmp, 3 clips) and SMIC/SMIC_all_cropped (reg_image*.bmp, 2 clips)."""
    for tree, prefix, clips in (("SMIC_all_raw", "image", ["s1_ne_01", "s1_po_01", "s2_sur_01"]),
                                ("SMIC_all_cropped", "reg_image", ["s1_ne_01", "s1_po_01"])):
        for clip in clips:
            subject, code, _ = clip.split("_")
            kind = {"ne": "negative", "po": "positive", "sur": "surprise"}[code]
            write_frames(tmp_path / "SMIC" / tree / "HS" / subject / "micro" / kind / clip,
                         [f"{prefix}{n:06d}" for n in range(1, 4)], suffix=".bmp")
    return tmp_path / "SMIC"


def test_smic_raw_and_cropped_trees_reported_and_chosen(smic_both):
    report = load_dataset(smic_both, dataset="smic")
    assert len(report.samples) == 3 and all(s.frames[0].name.startswith("image") for s in report.samples)
    [both] = _quirks(report, "2 SMIC trees")
    assert "SMIC_all_raw (raw)" in both.what and "SMIC_all_cropped (cropped)" in both.what
    assert "read SMIC_all_raw (raw, the default)" in both.handled and "--smic-tree" in both.handled
    for choice in ("cropped", "SMIC_all_cropped"):
        cropped = load_dataset(smic_both, dataset="smic", smic_tree=choice)
        assert len(cropped.samples) == 2 and all(s.frames[0].name.startswith("reg_") for s in cropped.samples)
        assert "read SMIC_all_cropped" in _quirks(cropped, "2 SMIC trees")[0].handled
    with pytest.raises(ValueError, match=r"tree='SMIC_all'.*Found: SMIC_all_cropped \(cropped\), SMIC_all_raw \(raw\)"):
        load_dataset(smic_both, dataset="smic", smic_tree="SMIC_all")


def test_smic_one_tree_has_no_quirk_and_data_check_flag(smic_both, capsys):
    only_raw = load_dataset(smic_both / "SMIC_all_raw", dataset="smic")
    assert len(only_raw.samples) == 3 and not _quirks(only_raw, "SMIC trees")
    assert main(["data", "check", str(smic_both), "--dataset", "smic", "--smic-tree", "cropped"]) == 0
    out = capsys.readouterr().out
    assert "== smic-hs: 2 samples" in out and "read SMIC_all_cropped (tree='cropped')" in out
    assert main(["data", "check", str(smic_both), "--dataset", "smic", "--smic-tree", "nir"]) != 0
    assert "tree='nir'" in capsys.readouterr().err


# sub10 holds EP11_01 and EP11_01f, sub17 EP05_03 and EP05_03f: different clips (frames 1-3 vs 50-52)
ROWS = [(17, "EP05_03f", 50, 51, 52, "disgust"), (17, "EP05_03", 1, 2, 3, "happiness"),
        (10, "EP11_01", 1, 2, 3, "sadness"), (10, "EP11_01f", 50, 51, 52, "fear"),
        (1, "EP02_01f", 1, 2, 3, "happiness")]


def _casme2(root, folders):
    """CASME II with the sheet ROWS; `folders` maps (tree, subject, folder name) -> first frame number."""
    for (tree, subject, name), first in folders.items():
        prefix = "reg_img" if tree == "Cropped" else "img"
        write_frames(root / tree / f"sub{subject:02d}" / name, [f"{prefix}{n}" for n in range(first, first + 3)])
    write_sheet(root / "CASME2-coding-20140508.xlsx",
                [CASME2_HEADER, *[(s, f, None, on, ap, off, None, "", e) for s, f, on, ap, off, e in ROWS]])
    return root


def test_casme2_exact_names_win_over_the_trailing_f_fallback(tmp_path):
    raw = {("CASME2_RAW_selected", s, f): on for s, f, on, *_ in ROWS}
    # the cropped tree lost every trailing "f": EP11_01f and EP05_03f have no folder of their own
    cropped = {("Cropped", 17, "EP05_03"): 1, ("Cropped", 10, "EP11_01"): 1, ("Cropped", 1, "EP02_01"): 1}
    root = _casme2(tmp_path, {**raw, **cropped})
    for variant in ("raw", "cropped"):
        report = load_dataset(root, dataset="casme2", variant=variant)
        firsts = {s.sample_id: frame_number(s.frames[0]) for s in report.samples}
        assert firsts["EP05_03"] == 1 and firsts["EP11_01"] == 1 and firsts["EP02_01f"] == 1, variant
        if variant == "raw":  # both names exist: each row gets its own clip
            assert firsts["EP05_03f"] == 50 and firsts["EP11_01f"] == 50
            assert not _quirks(report, "no clip folder") and not _quirks(report, "not in the coding sheet")
        else:  # the f-less folder is the other row's clip: not this row's fallback
            assert "EP05_03f" not in firsts and "EP11_01f" not in firsts
            missing = {q.where: q.what for q in _quirks(report, "no clip folder")}
            assert set(missing) == {"casme2/sub17/EP05_03f", "casme2/sub10/EP11_01f"}
            assert "folder 'EP05_03' is the clip of sheet row 'EP05_03'" in missing["casme2/sub17/EP05_03f"]
            # where no other row claims it, the f-less folder still serves (reported)
            assert [q.where for q in _quirks(report, "without the trailing 'f'")] == ["casme2/sub01/EP02_01f"]


def test_casme2_folder_with_an_f_the_sheet_lacks_is_not_stolen(tmp_path):
    # only EP05_03f exists on disk: it is the EP05_03f row's clip, never EP05_03's by the "+f" fallback
    root = _casme2(tmp_path, {("CASME2_RAW_selected", 17, "EP05_03f"): 50, ("CASME2_RAW_selected", 10, "EP11_01"): 1})
    report = load_dataset(root, dataset="casme2")
    assert {s.sample_id: frame_number(s.frames[0]) for s in report.samples} == {"EP05_03f": 50, "EP11_01": 1}
    assert {q.where for q in _quirks(report, "no clip folder")} == {
        "casme2/sub17/EP05_03", "casme2/sub10/EP11_01f", "casme2/sub01/EP02_01f"}
