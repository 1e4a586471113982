"""`mer data check`: counts and quirks printed; a clear non-zero exit on a layout it cannot read."""

from __future__ import annotations

import json

from datasets_trees import build_casme2, build_samm, build_smic

from mer_tf.cli import main


def test_data_check_prints_counts_and_every_quirk(tmp_path, capsys):
    data = tmp_path / "data"  # the JSON goes beside the dataset: an output inside an input is refused
    build_casme2(data / "CASME2")
    build_samm(data / "SAMM")
    build_smic(data / "SMIC")
    out_json = tmp_path / "check.json"
    assert main(["data", "check", str(data), "--selection", "all", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("composite: 13 samples, 10 subjects")
    for text in ("== casme2: 6 samples, 4 subjects", "== samm: 4 samples", "== smic-hs: 3 samples",
                 "MEGC 3-class: negative 3, positive 2, surprise 1", "casme2/sub04/EP12_01f (row 9): apex missing ('/')",
                 "samm/028/028_4_1 (row 17): apex 950 outside", "smic-hs/s02/s02_ne_02: empty clip"):
        assert text in out
    data = json.loads(out_json.read_text())
    assert data["counts"]["samm"]["samples"] == 4 and len(data["quirks"]) == out.count("\n  [")


def test_data_check_single_dataset(tmp_path, capsys):
    build_samm(tmp_path)
    assert main(["data", "check", str(tmp_path), "--dataset", "samm"]) == 0
    assert "== samm: 5 samples, 5 subjects" in capsys.readouterr().out


def test_data_check_unreadable_layout_exits_nonzero(tmp_path, capsys):
    build_smic(tmp_path)
    assert main(["data", "check", str(tmp_path), "--dataset", "casme2"]) != 0
    err = capsys.readouterr().err
    assert "No CASME II frame tree (CASME2_RAW_selected or Cropped) in " + str(tmp_path) in err
    assert main(["data", "check", str(tmp_path / "missing")]) != 0
    assert "does not exist" in capsys.readouterr().err
