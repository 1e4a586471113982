"""Training, LOSO, ablation and ECRL on the MEGC 2019 release's layout (a generated miniature)."""

from __future__ import annotations

import csv
import json

import pytest
from megc2019_tree import build_release

from mer_tf.training import TrainConfig, run_ablation, run_loso


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("megc2019"))


def _config(release, tmp_path, **kw):
    settings = dict(data=str(release), dataset="megc2019", input="flow_image", size=28, epochs=1, steps_per_epoch=2,
                    batch_size=4, val_subjects=1, cache_dir=str(tmp_path / "cache"), detector="blazeface")
    return TrainConfig(**{**settings, **kw})


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_loso_scores_validation_subjects_and_fusion_policies(release, tmp_path):
    result = run_loso(_config(release, tmp_path), tmp_path / "loso", use_ray=False, max_folds=2, progress=False)
    test_rows = _rows(result.paths["predictions.csv"])
    val_rows = _rows(result.paths["validation_predictions.csv"])
    assert {r["fold"] for r in test_rows} == {"006", "007"}
    for r in test_rows:
        assert r["subject"] == r["fold"] and r["truth"] in ("negative", "positive", "surprise")
    for fold in ("006", "007"):  # validation subjects come from that fold's training subjects
        assert {r["subject"] for r in val_rows if r["fold"] == fold}.isdisjoint({fold})
    assert result.validation["cnn"]["all"]["n"] == len(val_rows)
    tables = result.policies["test"]
    assert set(tables) == {"megc3_paper", "megc3_check"}
    # Fig. 6 read literally on three classes never changes the CNN's label
    assert tables["megc3_paper"]["scores"]["uf1"] == pytest.approx(result.scores["cnn"]["all"]["uf1"])
    assert all(r["fused"] == r["cnn"] for r in test_rows)
    saved = json.loads(result.paths["scores.json"].read_text())
    assert saved["validation_scores"]["cnn"]["all"]["n"] == len(val_rows)


def test_selection_scores_come_from_subjects_the_fit_never_saw(release, tmp_path):
    """Score subjects give the selection score of an early-stopped run; patience 0 uses its validation subjects."""
    stopped = run_loso(_config(release, tmp_path, score_subjects=1, patience=2), tmp_path / "stopped", use_ray=False,
                       max_folds=2, progress=False)  # fmt: skip
    assert stopped.selection["subjects"] == "score"
    for fold in stopped.folds:
        assert len(fold["score_subjects"]) == 1 and not set(fold["score_subjects"]) & set(fold["val_subjects"])
    fixed = run_loso(_config(release, tmp_path, patience=0), tmp_path / "fixed", use_ray=False, max_folds=2,
                     progress=False)  # fmt: skip
    assert fixed.selection["subjects"].startswith("validation")
    # the score subject of the first run is the validation subject of the second (same seed, same draw)
    assert [f["score_subjects"] for f in stopped.folds] == [f["val_subjects"] for f in fixed.folds]
    assert stopped.selection["scores"]["cnn"]["all"]["n"] == fixed.validation["cnn"]["all"]["n"]
    early = run_loso(_config(release, tmp_path, patience=2), tmp_path / "early", use_ray=False, max_folds=1, progress=False)
    assert early.selection == {}  # early stopping looked at its validation subjects: no unbiased score
    saved = json.loads(stopped.paths["scores.json"].read_text())
    assert saved["selection"]["subjects"] == "score"


def test_ablation_with_seeds_is_paired(release, tmp_path):
    config = _config(release, tmp_path, ecrl=True)
    result = run_ablation(config, tmp_path / "ablation", cells=["eccnn_pool3", "eccnn_no_local_region", "ststnet"],
                          seeds=[0, 1], use_ray=False, max_folds=1, progress=False)
    rows = {(r["cell"], r["column"]): r for r in result.rows}
    assert rows[("eccnn_pool3", "cnn")]["seeds"] == 2 and rows[("eccnn_no_local_region", "cnn")]["seeds"] == 2
    data = json.loads(result.paths["ablation.json"].read_text())
    paired = {p["question"]: p for p in data["paired"]}
    lrl = paired["local region layer: with - without"]
    runs = data["runs"]
    for i, seed in enumerate((0, 1)):
        a = runs[f"eccnn_pool3/seed-{seed}"]["scores"]["cnn"]["all"]["uf1"]
        b = runs[f"eccnn_no_local_region/seed-{seed}"]["scores"]["cnn"]["all"]["uf1"]
        assert lrl["uf1_per_seed"][i] == pytest.approx(a - b)
    peer = paired["peer: ECCNN - STSTNet"]  # the MEGC 2019 peer, on the same folds and seeds
    assert runs["ststnet/seed-0"]["scores"]["cnn"]["all"]["n"] == runs["eccnn_pool3/seed-0"]["scores"]["cnn"]["all"]["n"]
    assert peer["uf1_per_seed"][1] == pytest.approx(runs["eccnn_pool3/seed-1"]["scores"]["cnn"]["all"]["uf1"]
                                                    - runs["ststnet/seed-1"]["scores"]["cnn"]["all"]["uf1"])
    assert "STSTNet (re-implemented)" in result.paths["ablation.md"].read_text()
    assert "± " in result.paths["ablation.md"].read_text()
    assert result.paths["predictions_eccnn_pool3_seed1.csv"].is_file()
    with pytest.raises(ValueError, match="distinct"):
        run_ablation(config, tmp_path / "a2", seeds=[1, 1], use_ray=False, max_folds=1, progress=False)


def test_ecrl_alone_loso(release, tmp_path):
    from mer_tf.training.ecrl_loso import run_ecrl_loso

    result = run_ecrl_loso(_config(release, tmp_path), tmp_path / "ecrl", progress=False)
    rows = _rows(tmp_path / "ecrl" / "predictions.csv")
    assert result["n"] == len(rows) == 11 and {r["fold"] for r in rows} == {r["subject"] for r in rows}
    assert set(result["ecrl"]) == {"all", "casme2", "samm", "smic-hs"}
    assert all(r["ecrl"] in ("negative", "positive", "surprise", "none") for r in rows)


def test_train_leaves_test_subjects_out_and_records_them(release, tmp_path):
    from mer_tf.training import train

    config = _config(release, tmp_path, test_subjects=("s01", "sub02"))
    result = train(config, tmp_path / "model", progress=False)
    run = json.loads((result.model_dir / "config.json").read_text())["run"]
    assert run["test_subjects"] == ["s01", "sub02"]
    assert {"s01", "sub02"}.isdisjoint(run["train_subjects"] + run["val_subjects"])
    with pytest.raises(ValueError, match=r"test subjects \['sub99'\] are not in"):
        train(_config(release, tmp_path, test_subjects=("sub99",)), tmp_path / "m2", progress=False)
    with pytest.raises(ValueError, match="list of subject ids"):
        TrainConfig(test_subjects="s01")


def test_flow_is_the_default_input_and_means_the_release_flow_images_on_megc2019():
    assert TrainConfig().input == "flow"
    assert TrainConfig(dataset="megc2019").input == "flow_image"
    assert TrainConfig(dataset="megc2019", input="apex").input == "apex"
    assert TrainConfig(dataset="casme2").input == "flow"


def test_ablation_pairs_each_baseline_with_eccnn_seed_by_seed():
    """The paper's Table 3 question (how the baselines rank) is answered paired, only on seeds both cells ran."""
    from mer_tf.training.ablation import paired_differences

    def run(uf1, uar):
        return {"scores": {"cnn": {"all": {"uf1": uf1, "uar": uar}}}}

    per_run = {("eccnn_pool3", 0): run(.72, .75), ("eccnn_pool3", 1): run(.73, .76),
               ("lcn", 0): run(.74, .76), ("lcn", 1): run(.71, .74), ("convnet", 1): run(.70, .70)}
    paired = {p["question"]: p for p in paired_differences(per_run, [0, 1])}
    lcn = paired["baseline: ECCNN - LCN"]
    assert lcn["seeds"] == [0, 1]
    assert lcn["uf1_per_seed"] == pytest.approx([-.02, .02]) and lcn["uf1"] == pytest.approx(0.0)
    assert lcn["uar_per_seed"] == pytest.approx([-.01, .02])
    convnet = paired["baseline: ECCNN - ConvNet"]
    assert convnet["seeds"] == [1] and convnet["uf1"] == pytest.approx(.03)
    assert "baseline: ECCNN - DRML" not in paired and "baseline: ECCNN - AlexNet" not in paired  # not run: not reported


def test_eyes_mouth_flow_regions_train_save_and_evaluate(release, tmp_path):
    """HTNet's input (`--flow-regions eyes_mouth`) goes through training, the model folder and evaluation."""
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.model_folder import ModelFolder
    from mer_tf.training import train
    from mer_tf.training.evaluate_model import evaluate_model

    config = _config(release, tmp_path, flow_regions="eyes_mouth", test_subjects=("s02",), flip_average=True)
    result = train(config, tmp_path / "model", progress=False)
    folder = ModelFolder.load(result.model_dir)
    assert folder.input_spec().flow_regions == "eyes_mouth"
    assert FeatureStore(folder.input_spec(), config.cache_dir).root == FeatureStore(config.input_spec(), config.cache_dir).root
    assert FeatureStore(folder.input_spec(), config.cache_dir).root != \
        FeatureStore(_config(release, tmp_path).input_spec(), config.cache_dir).root
    scored = evaluate_model(result.model_dir, release, tmp_path / "eval", dataset="megc2019", progress=False)
    rows = _rows(scored.paths["predictions.csv"])
    assert {r["subject"] for r in rows} == {"s02"} and len(rows) == 2


def test_centred_flow_trains_mirrors_as_a_signed_field_and_evaluates(release, tmp_path):
    """`--centre-flow` goes through training (flips), the model folder, the mirror averaging and evaluation."""
    from mer_tf.layers.mirror import Mirror
    from mer_tf.model_folder import ModelFolder
    from mer_tf.training import train
    from mer_tf.training.evaluate_model import evaluate_model

    config = _config(release, tmp_path, centre_flow=True, test_subjects=("s02",), flip_average=True)
    result = train(config, tmp_path / "model", progress=False)
    folder = ModelFolder.load(result.model_dir)
    assert folder.input_spec().centre_flow
    mirrors = [layer.mode for layer in folder.keras_model().layers if isinstance(layer, Mirror)]
    assert mirrors == ["flow"]
    from mer_tf.models.flip_average import mirror_mode

    assert mirror_mode(folder.keras_model()) == "flow"  # what QAT and pruning re-wrap the single pass with
    scored = evaluate_model(result.model_dir, release, tmp_path / "eval", dataset="megc2019", progress=False)
    rows = _rows(scored.paths["predictions.csv"])
    assert {r["subject"] for r in rows} == {"s02"} and len(rows) == 2
