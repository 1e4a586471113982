"""`compare_exports` / `mer compare`: side-by-side report, recomputable from its per-sample CSVs."""

import json

import numpy as np
import pytest

from export.compare import compare_exports
from export.export_model import export_model
from export.comparison_report import recompute
from mer_tf import tflite_metadata
from mer_tf.cli import main
from test_export_support import TEST_SUBJECTS, make_model_folder


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    from mer_tf.ecrl import ECRL

    root = tmp_path_factory.mktemp("compare")
    folder = make_model_folder(root)
    ECRL.default().save(folder / "ecrl.json")
    export_model(folder, root / "out", representative=24, check_samples=0, progress=False)
    result = compare_exports(root / "out", latency_runs=5, progress=False)
    return root, result


def test_report_files_and_held_out_samples(compared):
    root, result = compared
    out = root / "out"
    for name in ("report.md", "report.json", "report.png"):
        assert (out / name).stat().st_size > 0
    assert set(result["variants"]) == {"float32", "float16", "dynamic", "int8"}
    assert result["samples"]["subjects"] == list(TEST_SUBJECTS)
    assert "test subjects" in result["samples"]["source"]
    md = (out / "report.md").read_text()
    for variant in result["variants"]:
        assert f"| {variant} |" in md
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["variants"]["int8"]["agreement"] == result["variants"]["int8"]["agreement"]
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_every_metric_present(compared):
    _, result = compared
    for variant, v in result["variants"].items():
        assert {"accuracy", "uf1", "uar", "per_class"} <= set(v["cnn"])
        assert v["fused"] is not None and 0.0 <= v["fused"]["accuracy"] <= 1.0  # ECRL + the paper's fusion
        assert set(v["latency"]) == {"1", "2"} and v["latency"]["1"]["p95_ms"] >= v["latency"]["1"]["median_ms"] > 0
        assert v["bytes"] > v["gzip_bytes"] > 0 and set(v["per_class_delta"]) == set(result["classes"])
    ref = result["variants"]["float32"]
    assert ref["agreement"] == 1.0 and ref["mean_abs_logp_diff"] == 0.0 and ref["accuracy_drop_points"] == 0.0
    assert result["variants"]["int8"]["size_ratio"] < 0.6  # int8 weights: about a quarter of float32's


def test_numbers_recomputed_from_per_sample_csvs(compared):
    root, result = compared
    again = recompute(root / "out")
    assert set(again) == set(result["variants"])
    for variant, v in result["variants"].items():
        r = again[variant]
        for key in ("accuracy", "uf1", "uar"):
            assert r["cnn"][key] == pytest.approx(v["cnn"][key], abs=1e-12)
            assert r["fused"][key] == pytest.approx(v["fused"][key], abs=1e-12)
        assert r["cnn"]["confusion"] == v["cnn"]["confusion"]
        assert r["agreement"] == pytest.approx(v["agreement"], abs=1e-12)
        assert r["mean_abs_logp_diff"] == pytest.approx(v["mean_abs_logp_diff"], rel=1e-5, abs=1e-6)


def test_thresholds_fail_the_command(compared, capsys):
    root, _ = compared
    code = main(["compare", str(root / "out"), "--out", str(root / "strict"), "--latency-runs", "3",
                 "--min-agreement", "1.01", "--max-accuracy-drop", "-1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAIL int8: agreement with float32" in err and "FAIL int8: accuracy drop" in err
    code = main(["compare", str(root / "out"), "--out", str(root / "lenient"), "--latency-runs", "3",
                 "--min-agreement", "0.0", "--max-accuracy-drop", "100"])
    assert code == 0
    assert json.loads((root / "lenient" / "report.json").read_text())["failures"] == []


def test_corrupt_variant_is_named(compared, tmp_path):
    root, _ = compared
    import shutil

    bad = tmp_path / "out"
    shutil.copytree(root / "out", bad)
    path = bad / "eccnn_dynamic.tflite"
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(tflite_metadata.MetadataError, match=r"eccnn_dynamic\.tflite is truncated"):
        compare_exports(bad, latency_runs=2, progress=False)
    assert main(["compare", str(bad), "--latency-runs", "2"]) == 2


def test_a_missing_variant_is_an_error_not_a_pass(compared, tmp_path, capsys):
    root, _ = compared
    import shutil

    bad = tmp_path / "out"
    shutil.copytree(root / "out", bad)
    (bad / "eccnn_int8.tflite").unlink()
    before = (bad / "report.md").read_bytes()  # the fixture's own compare run wrote one
    assert main(["compare", str(bad), "--latency-runs", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lacks variants its export.json lists: int8 (eccnn_int8.tflite)" in err[0]
    assert (bad / "report.md").read_bytes() == before  # no report saying the rest pass


def test_all_samples_when_no_split(compared, tmp_path):
    root, _ = compared
    import shutil

    out = tmp_path / "out"
    shutil.copytree(root / "out", out)
    config = json.loads((out / "config.json").read_text())
    config.pop("split")
    (out / "config.json").write_text(json.dumps(config))
    result = compare_exports(out, latency_runs=2, threads=(1,), progress=False)
    n = len(np.load(root / "arrays.npz")["y"])
    assert result["samples"]["n"] == n and "NOT a held-out test" in result["samples"]["source"]


def test_held_out_falls_back_like_mer_train_records(compared, tmp_path):
    """`mer train` records only run.train_subjects/val_subjects: unseen subjects first, else validation ones."""
    from export.folder_samples import held_out, pick_subjects
    from export.sample_arrays import SampleArrays
    from mer_tf.model_folder import ModelFolder

    root, _ = compared
    arrays = SampleArrays.from_npz(root / "arrays.npz")
    folder = ModelFolder.load(root / "out", require_model=False)
    folder.config = {"run": {"train_subjects": ["s01", "s02"], "val_subjects": ["s03"]}}
    picked = held_out(folder, arrays)
    assert sorted(set(picked.subjects)) == ["s04"] and "not used in training or validation" in picked.source
    assert folder.subjects("train") == ["s01", "s02"] and folder.subjects("val") == ["s03"]
    folder.config = {"run": {"train_subjects": ["s01", "s02"], "val_subjects": ["s03", "s04"]}}
    picked = held_out(folder, arrays)
    assert sorted(set(picked.subjects)) == ["s03", "s04"] and "validation subjects" in picked.source
    folder.config = {"run": {"train_subjects": ["x9"]}, "split": {}}
    with pytest.raises(ValueError, match="none of the train subjects"):
        pick_subjects(folder, arrays, ["x9"], "train subjects")


def test_all_samples_option_says_not_held_out(compared, tmp_path):
    root, _ = compared
    result = compare_exports(root / "out", out_dir=tmp_path, all_samples=True, latency_runs=2, threads=(1,),
                             progress=False)
    assert result["samples"]["n"] == len(np.load(root / "arrays.npz")["y"])
    assert "NOT a held-out test" in result["samples"]["source"]
    assert "NOT a held-out test" in (tmp_path / "report.md").read_text()
