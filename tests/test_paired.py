"""Paired fold bootstrap (mer_tf.metrics.paired_bootstrap, mer_tf.paired) and the scripts that print it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mer_tf.labels import MEGC3
from mer_tf.metrics import paired_bootstrap, pooled_scores
from mer_tf.paired import bootstrap_sources, read_predictions

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["dataset", "subject", "sample", "truth", "cnn", "fold"]


def _run(n_folds=20, per_fold=6, wrong_a=0.2, wrong_b=0.4, seed=0):
    """truth, pred_a, pred_b, folds: B errs more often than A, in every fold."""
    rng = np.random.default_rng(seed)
    truth = [MEGC3[i % 3] for i in range(n_folds * per_fold)]
    folds = [f"s{i // per_fold:02d}" for i in range(len(truth))]

    def noisy(rate):
        return [MEGC3[(MEGC3.index(t) + 1) % 3] if rng.random() < rate else t for t in truth]

    return truth, noisy(wrong_a), noisy(wrong_b), folds


def test_identical_predictions_give_a_zero_interval_and_never_ahead():
    truth, a, _, folds = _run()
    r = paired_bootstrap([(truth, a, a, folds)], MEGC3, resamples=300)
    for m in ("uf1", "uar"):
        assert r[m]["delta"] == 0 and r[m]["low"] == 0 and r[m]["high"] == 0 and r[m]["a_better"] == 0


def test_observed_delta_is_the_pooled_difference_averaged_over_runs():
    runs = [_run(seed=s) for s in (1, 2)]
    r = paired_bootstrap(runs, MEGC3, resamples=50)
    want = np.mean([pooled_scores(t, a, MEGC3)["uf1"] - pooled_scores(t, b, MEGC3)["uf1"] for t, a, b, _ in runs])
    assert r["uf1"]["delta"] == pytest.approx(want)
    assert r["clusters"] == 20 and r["resamples"] == 50


def test_a_clearly_better_everywhere_is_ahead_in_nearly_every_draw():
    r = paired_bootstrap([_run(wrong_a=0.0, wrong_b=0.5)], MEGC3, resamples=500)
    assert r["uf1"]["a_better"] > 0.99 and r["uf1"]["low"] > 0


def test_resamples_folds_not_samples():
    # A beats B only inside one fold of 20: about a third of fold draws leave that fold out,
    # so A is not ahead in them; a sample-level bootstrap would call A ahead almost always.
    truth = [MEGC3[i % 3] for i in range(20 * 30)]
    folds = [f"s{i // 30:02d}" for i in range(len(truth))]
    b = [MEGC3[(MEGC3.index(t) + 1) % 3] if f == "s00" else t for t, f in zip(truth, folds)]
    r = paired_bootstrap([(truth, truth, b, folds)], MEGC3, resamples=1000, seed=3)
    assert r["uf1"]["delta"] > 0.05
    assert 0.5 < r["uf1"]["a_better"] < 0.8
    assert r["uf1"]["low"] == 0


def test_same_seed_reproduces_and_bad_input_is_named():
    run = _run()
    assert paired_bootstrap([run], MEGC3, resamples=100, seed=7) == paired_bootstrap([run], MEGC3, resamples=100, seed=7)
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([(run[0], run[1][:-1], run[2], run[3])], MEGC3)
    with pytest.raises(ValueError, match="resamples=0"):
        paired_bootstrap([run], MEGC3, resamples=0)
    with pytest.raises(ValueError, match="not one of classes"):
        paired_bootstrap([(run[0], ["happy"] * len(run[0]), run[2], run[3])], MEGC3)


def _write(path: Path, truth, pred, folds, drop=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i, (t, p, f) in enumerate(zip(truth, pred, folds)):
            if i >= drop:
                w.writerow(["casme2", f, f"c{i}", t, p, f])
    return path


def test_sources_pair_files_and_refuse_unpaired_ones(tmp_path):
    truth, a, b, folds = _run()
    fa = _write(tmp_path / "a.csv", truth, a, folds)
    fb = _write(tmp_path / "b.csv", truth, b, folds)
    got = bootstrap_sources([((fa, "cnn"), (fb, "cnn"))], resamples=200)
    assert got == paired_bootstrap([(truth, a, b, folds)], MEGC3, resamples=200)
    short = _write(tmp_path / "short.csv", truth, b, folds, drop=3)
    with pytest.raises(ValueError, match="predict different samples"):
        bootstrap_sources([((fa, "cnn"), (short, "cnn"))])
    with pytest.raises(ValueError, match="lacks the columns"):
        read_predictions(fa, "fused")
    with pytest.raises(FileNotFoundError, match="no predictions file"):
        read_predictions(tmp_path / "missing.csv", "cnn")


def _report(folder: Path, seed: int, truth, pred, folds):
    _write(folder / "predictions.csv", truth, pred, folds)
    scores = {"all": pooled_scores(truth, pred, MEGC3)}
    (folder / "scores.json").write_text(json.dumps({"config": {"seed": seed}, "scores": {"cnn": scores}}))


def test_loso_table_prints_the_paired_interval(tmp_path):
    args = [sys.executable, str(ROOT / "scripts/loso_table.py"), "--slices", "all", "--resamples", "300"]
    for seed in (0, 1):
        truth, a, b, folds = _run(wrong_a=0.0, wrong_b=0.5, seed=seed)
        _report(tmp_path / f"a{seed}", seed, truth, a, folds)
        _report(tmp_path / f"b{seed}", seed, truth, b, folds)
        args += ["--run", f"A={tmp_path / f'a{seed}'}", "--run", f"B={tmp_path / f'b{seed}'}"]
    out = subprocess.run(args + ["--pair", "A", "B"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Paired, seeds [0, 1]: A - B" in out.stdout
    assert "fold bootstrap (300 draws of 20 folds)" in out.stdout and "A above in 100 %" in out.stdout


def test_select_settings_keeps_the_incumbent_on_a_noise_sized_margin(tmp_path):
    # the incumbent errs on two more samples than the challenger, both in one fold of 20
    truth, a, _, folds = _run(wrong_a=0.3, seed=4)
    flip = [i for i, (t, p, f) in enumerate(zip(truth, a, folds)) if t == p and f == "s00"][:2]
    b = [MEGC3[(MEGC3.index(p) + 1) % 3] if i in flip else p for i, p in enumerate(a)]
    log = tmp_path / "log.jsonl"
    lines = []
    for name, pred in (("challenger", a), ("incumbent", b)):
        _write(tmp_path / "out" / name / "validation_predictions.csv", truth, pred, folds)
        uf1 = pooled_scores(truth, pred, MEGC3)["uf1"]
        lines.append({"name": name, "overrides": {"epochs": 1 if name == "incumbent" else 2},
                      "config": {"patience": 0}, "validation": {"cnn": {"uf1": uf1, "uar": uf1}},
                      "selection": {"subjects": "validation", "cnn": {"uf1": uf1, "uar": uf1}}, "test": {}})
    assert lines[0]["selection"]["cnn"]["uf1"] > lines[1]["selection"]["cnn"]["uf1"]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (tmp_path / "cands.yaml").write_text("- name: challenger\n  overrides: {epochs: 2}\n")
    base = [sys.executable, str(ROOT / "scripts/select_settings.py"), "--config", str(ROOT / "configs/default.yaml"),
            "--candidates", str(tmp_path / "cands.yaml"), "--out", str(tmp_path / "out"), "--log", str(log),
            "--only", "none", "--resamples", "300"]
    plain = subprocess.run(base, capture_output=True, text=True, cwd=ROOT)
    assert plain.returncode == 0, plain.stderr
    assert "never fitted on (validation): challenger" in plain.stdout
    assert "challenger - this: fold bootstrap" in plain.stdout
    kept = subprocess.run(base + ["--keep", "incumbent"], capture_output=True, text=True, cwd=ROOT)
    assert kept.returncode == 0, kept.stderr
    assert "incumbent stays" in kept.stdout and "never fitted on (validation): incumbent" in kept.stdout
    # the challenger's interval is read against the kept choice, not against the best mean
    assert "challenger: " in kept.stdout and "(incumbent - this: fold bootstrap" in kept.stdout
    assert "challenger - this" not in kept.stdout
    unknown = subprocess.run(base + ["--keep", "nobody"], capture_output=True, text=True, cwd=ROOT)
    assert unknown.returncode == 2 and "--keep nobody: no such candidate" in unknown.stderr
    assert log.read_text().count("\n") == 2  # nothing ran, nothing appended


def test_select_settings_pools_seeds_and_reads_finished_reports(tmp_path):
    from mer_tf.training import TrainConfig

    config = ROOT / "configs/default.yaml"
    out, log = tmp_path / "out", tmp_path / "log.jsonl"
    (tmp_path / "cands.yaml").write_text("- name: inc\n  overrides: {epochs: 1}\n- name: ch\n  overrides: {epochs: 2}\n")
    for seed in (0, 1):
        # the challenger errs far less on seed 0, a little more on seed 1: ahead on the mean over seeds
        truth, a, b, folds = _run(wrong_a=0.0 if seed == 0 else 0.3, wrong_b=0.3 if seed == 0 else 0.25, seed=seed)
        for name, epochs, pred in (("ch", 2, a), ("inc", 1, b)):
            folder = out / (name if seed == 0 else f"{name}_seed{seed}")
            _write(folder / "validation_predictions.csv", truth, pred, folds)
            scores = {"cnn": {"all": pooled_scores(truth, pred, MEGC3)}}
            settings = TrainConfig.from_file(config, epochs=epochs, seed=seed).to_dict()
            (folder / "scores.json").write_text(json.dumps(
                {"config": settings, "folds_run": 20, "partial": False, "validation_scores": scores,
                 "selection": {"subjects": "validation", "scores": scores}, "scores": scores}))
    args = [sys.executable, str(ROOT / "scripts/select_settings.py"), "--config", str(config), "--candidates",
            str(tmp_path / "cands.yaml"), "--out", str(out), "--log", str(log), "--seeds", "0", "1",
            "--resamples", "300", "--keep", "inc"]
    first = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["name"], e["candidate"]) for e in lines] == [("inc", "inc"), ("inc_seed1", "inc"), ("ch", "ch"),
                                                            ("ch_seed1", "ch")]
    assert all("reused" in e and e["minutes"] is None for e in lines)  # read from the folders, nothing trained
    assert lines[1]["overrides"] == {"epochs": 1, "seed": 1} and "seed" not in lines[0]["overrides"]
    assert "mean over seeds [0, 1]): ch {'epochs': 2}" in first.stdout
    assert "inc: " in first.stdout and " / " in first.stdout  # the per-seed scores
    again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0 and again.stdout.count("in the log already, skipped") == 4
    # with one seed, the seed-1 runs are ignored and the ranking is seed 0's
    one = subprocess.run(args[:-7] + ["--resamples", "300"], capture_output=True, text=True, cwd=ROOT)
    assert one.returncode == 0 and "never fitted on (validation): ch" in one.stdout and " / " not in one.stdout
    # a report is reused only for the same settings and only when finished
    import importlib.util

    spec = importlib.util.spec_from_file_location("select_settings", ROOT / "scripts/select_settings.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    same = TrainConfig.from_file(config, epochs=1, data="elsewhere", threads=2)  # where it ran does not matter
    assert script._finished_report(out / "inc", same) is not None
    assert script._finished_report(out / "inc", TrainConfig.from_file(config, epochs=3)) is None
    # a setting added after the report was made counts at its default, the value the report ran with
    report = json.loads((out / "inc" / "scores.json").read_text())
    (out / "inc" / "scores.json").write_text(json.dumps(
        {**report, "config": {k: v for k, v in report["config"].items() if k not in ("mixup", "label_smoothing")}}))
    assert script._finished_report(out / "inc", same) is not None
    assert script._finished_report(out / "inc", TrainConfig.from_file(config, epochs=1, mixup=0.2)) is None
    report = json.loads((out / "inc" / "scores.json").read_text())
    (out / "inc" / "scores.json").write_text(json.dumps({**report, "partial": True}))
    assert script._finished_report(out / "inc", same) is None
    assert script._finished_report(tmp_path / "nowhere", same) is None
    # a final config that fits every training subject is chosen on a held-out split
    assert script._selection_split(TrainConfig(val_subjects=0), 2).val_subjects == 2
    assert script._selection_split(TrainConfig(val_subjects=3), 2).val_subjects == 3
    assert script._selection_split(TrainConfig(val_subjects=0, score_subjects=2), 2).val_subjects == 0
    with pytest.raises(SystemExit, match="--selection-subjects 0"):
        script._selection_split(TrainConfig(val_subjects=0), 0)


def _line(name, overrides, settings, uf1):
    """A selection log line of a fixed-schedule candidate scored `uf1` on its validation subjects."""
    return {"name": name, "overrides": overrides, "config": {**settings, "patience": 0},
            "validation": {"cnn": {"uf1": uf1, "uar": uf1}},
            "selection": {"subjects": "validation", "cnn": {"uf1": uf1, "uar": uf1}}, "test": {}}


def _with_column(path, column, values):
    """Add `column` (one value per row) to the predictions CSV at `path`."""
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, [*COLUMNS, column])
        w.writeheader()
        w.writerows({**r, column: p} for r, p in zip(rows, values))


def _select_args(config, tmp_path, out, log, *extra):
    return [sys.executable, str(ROOT / "scripts/select_settings.py"), "--config", str(config), "--candidates",
            str(tmp_path / "cands.yaml"), "--out", str(out), "--log", str(log), "--only", "none",
            "--resamples", "300", *extra]


def test_select_settings_pairs_a_flip_average_candidate_with_its_own_single_pass(tmp_path):
    """The kept candidate's reports are gone; the challenger is its fit plus flip_average, whose report holds
    `cnn_single`: the pair is read from that one file. A candidate ahead without predictions cannot challenge."""
    from mer_tf.training import TrainConfig

    config = ROOT / "configs/default.yaml"
    out, log = tmp_path / "out", tmp_path / "log.jsonl"
    truth, a, b, folds = _run(wrong_a=0.05, wrong_b=0.35, seed=2)
    # the single-pass column: the same weights without the mirror err more
    _with_column(_write(out / "flip" / "validation_predictions.csv", truth, a, folds), "cnn_single", b)
    lines = []
    for name, pred, overrides in (("gone", a, {"epochs": 3}), ("flip", a, {"flip_average": True}), ("plain", b, {})):
        settings = TrainConfig.from_file(config, **overrides).to_dict()
        settings.pop("flip_average")  # the plain line was logged before the setting existed: its default then
        if name == "flip":
            settings["flip_average"] = True
        uf1 = pooled_scores(truth, pred, MEGC3)["uf1"] + (0.01 if name == "gone" else 0.0)
        lines.append(_line(name, overrides, settings, uf1))
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (tmp_path / "cands.yaml").write_text("- name: flip\n  overrides: {flip_average: true}\n")
    args = _select_args(config, tmp_path, out, log, "--keep", "plain")
    run = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "gone is ahead of plain on the mean, but their report folders" in run.stdout
    assert "never fitted on (validation): flip {'flip_average': True}" in run.stdout
    # another seed is another fit: no same-weights pair, and with no candidate left to resample, an error
    lines[1]["config"]["seed"] = 5
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    unpaired = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert unpaired.returncode == 2 and "no candidate ahead of it could be resampled" in unpaired.stderr
    # a round whose only challenger is behind: the earlier round's candidate ahead without folders is listed, not
    # asked to resample, and the kept one stays
    behind = {**lines[2], "name": "behind", "overrides": {"epochs": 5},
              "config": {**lines[2]["config"], "epochs": 5}}
    behind["selection"] = {"subjects": "validation", "cnn": {"uf1": lines[2]["selection"]["cnn"]["uf1"] - 0.01}}
    log.write_text("".join(json.dumps(line) + "\n" for line in [*lines, behind]))
    this_round = subprocess.run(args + ["--challengers", "behind"], capture_output=True, text=True, cwd=ROOT)
    assert this_round.returncode == 0, this_round.stderr
    assert "gone is ahead of plain on the mean" in this_round.stdout and "decided in its own round" in this_round.stdout
    assert "never fitted on (validation): plain" in this_round.stdout
    named = subprocess.run(args + ["--challengers", "gone"], capture_output=True, text=True, cwd=ROOT)
    assert named.returncode == 2 and "no candidate ahead of it could be resampled (['gone'])" in named.stderr
    unknown = subprocess.run(args + ["--challengers", "nobody"], capture_output=True, text=True, cwd=ROOT)
    assert unknown.returncode == 2 and "--challengers nobody: no such candidate" in unknown.stderr
    alone = [a for a in args if a not in ("--keep", "plain")] + ["--challengers", "behind"]
    no_keep = subprocess.run(alone, capture_output=True, text=True, cwd=ROOT)
    assert no_keep.returncode == 2 and "give --keep NAME too" in no_keep.stderr


def test_select_settings_pairs_an_ensemble_candidate_with_its_member_0(tmp_path):
    """The kept candidate's reports are gone; the challenger is an ensemble of its settings, whose member 0 is
    the kept candidate's own fit: the pair is read from the challenger's `cnn_first` column."""
    import importlib.util

    from mer_tf.training import TrainConfig

    config = ROOT / "configs/default.yaml"
    out, log = tmp_path / "out", tmp_path / "log.jsonl"
    truth, a, b, folds = _run(wrong_a=0.05, wrong_b=0.35, seed=3)
    # member 0 alone errs more than the two together
    _with_column(_write(out / "ens" / "validation_predictions.csv", truth, a, folds), "cnn_first", b)
    lines = []
    for name, pred, overrides in (("ens", a, {"ensemble": 2}), ("plain", b, {})):
        settings = TrainConfig.from_file(config, **overrides).to_dict()
        if name == "plain":
            settings.pop("ensemble")  # logged before the setting existed: its default then
        lines.append(_line(name, overrides, settings, pooled_scores(truth, pred, MEGC3)["uf1"]))
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (tmp_path / "cands.yaml").write_text("- name: ens\n  overrides: {ensemble: 2}\n")
    args = _select_args(config, tmp_path, out, log, "--keep", "plain", "--challengers", "ens")
    run = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "never fitted on (validation): ens {'ensemble': 2}" in run.stdout
    spec = importlib.util.spec_from_file_location("select_settings", ROOT / "scripts/select_settings.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script._source(out, lines[1], lines[0]) == (out / "ens" / "validation_predictions.csv", "cnn_first")
    other_seed = {**lines[0], "config": {**lines[0]["config"], "seed": 7}}  # another seed: not its member 0
    assert script._same_fit_column(other_seed, lines[1]) is None
    assert script._same_fit_column(lines[1], lines[0]) is None  # the single fit holds no ensemble's reading
