"""Choose training settings on validation subjects only, and log every configuration tried.

Each candidate (a set of TrainConfig overrides on a base config) runs one
full LOSO. Subjects drawn from each fold's training subjects and never fitted
on are predicted too; pooled over the folds they give the candidate's
selection UF1, which is the only number the choice looks at. They are the
validation subjects of a fixed-schedule candidate (patience 0), and the
score subjects (`score_subjects`) of an early-stopped one: early stopping
keeps the epoch its validation subjects liked best, so their score flatters
it. Score subjects come first in the seeded draw, so an early-stopped
candidate with `score_subjects: 2` is scored on the same subjects a
fixed-schedule candidate with `val_subjects: 2` (same seed) is validated on.
The test-fold scores are logged beside it, for the record, and never used
to choose. A config that fits every training subject (`val_subjects: 0`,
the final LOSO) is run with `--selection-subjects` (2) held out instead: the
settings are chosen on a split, then the final run fits all of them.

How sure is a win? Two fixed-schedule candidates with the same seed are
validated on the same subjects of the same folds, so the script resamples
those folds (`mer_tf.paired`) and prints, for the winner (with `--keep`,
the kept choice or the challenger that displaced it, not merely the best
mean) against each other candidate whose report folder is under --out, a
95 % interval of the UF1 difference and how often the winner stays ahead. With `--keep NAME` the named
candidate (the current choice) stays unless a challenger is ahead of it in
at least `--confidence` of the draws: a margin inside the resampling noise
does not move the choice. `--challengers NAME ...` limits the challengers to
this round's candidates: one decided in an earlier round, still ahead on the
mean but inside the noise, is listed and not asked to resample again (its
report folders may be gone). (Added after the fourth round, which replaced
fixed30_cos by fixed40_cos on a .002 margin: ahead in about 60 % of draws
against its other challenger, and worse on the test folds of all three seeds.)

Two subjects per fold cannot separate candidates .01 apart (the fourth
round), so `--seeds 0 1 2` widens the signal: each candidate runs one LOSO
per seed (other validation subjects, other weights), the choice looks at the
mean selection UF1 over the seeds, and the fold bootstrap applies each draw
to every seed. The config's own seed reports to `--out/NAME`, seed S to
`--out/NAME_seedS`; a finished report already in that folder with the same
settings (say, a paired-seed run copied there) is read, not run again.

Every candidate, winners and losers alike, is appended to a JSON-lines log
(one line per run: settings, validation and test scores, minutes), so a
rerun skips the candidates already in the log.

Example:
    python scripts/select_settings.py --config configs/megc2019.yaml \\
        --candidates configs/megc2019_candidates.yaml --out runs/select --log results/megc2019/settings_log.jsonl \\
        --seeds 0 1 2 --keep fixed40_cos --only fixed40_cos_fliponly_flipavg \\
        --challengers fixed40_cos_fliponly_flipavg
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _key(overrides: dict) -> str:
    return json.dumps(overrides, sort_keys=True)


def _candidate_key(entry: dict) -> str:
    """A log line's settings without its seed: the lines of one candidate's seeds share it."""
    return _key({k: v for k, v in (entry.get("overrides") or {}).items() if k != "seed"})


def _seed_of(entry: dict, default: int) -> int:
    return int((entry.get("overrides") or {}).get("seed", (entry.get("config") or {}).get("seed", default)))


_NOT_SETTINGS = ("data", "threads", "cache_dir")  # where it ran, not what ran


def _finished_report(folder: Path, config) -> dict | None:
    """scores.json of a finished LOSO of exactly `config` in `folder`, else None."""
    from mer_tf.training.config import TrainConfig

    try:
        report = json.loads((folder / "scores.json").read_text())
    except (OSError, ValueError):
        return None
    want = {k: v for k, v in json.loads(json.dumps(config.to_dict())).items() if k not in _NOT_SETTINGS}
    # A setting added after the report was made ran at its default then (e.g. label_smoothing 0).
    ran = {**json.loads(json.dumps(TrainConfig().to_dict())), **(report.get("config") or {})}
    have = {k: v for k, v in ran.items() if k not in _NOT_SETTINGS}
    if report.get("partial") or have != want:
        return None
    return report


def _pick(block: dict) -> dict:
    return {k: {"uf1": v["all"]["uf1"], "uar": v["all"]["uar"]} for k, v in (block or {}).items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="base YAML config")
    parser.add_argument("--candidates", required=True, help="YAML: a list of {name, overrides} mappings")
    parser.add_argument("--out", required=True, help="folder for each candidate's LOSO report")
    parser.add_argument("--log", required=True, help="JSON-lines log of every configuration tried (appended)")
    parser.add_argument("--data", help="dataset root (overrides the config)")
    parser.add_argument("--only", nargs="+", help="run only these candidate names")
    parser.add_argument("--seeds", type=int, nargs="+", help="pool the choice over these seeds (one LOSO per "
                        "candidate and seed; mean selection UF1); default: the config's seed alone")
    parser.add_argument("--selection-subjects", type=int, default=2, metavar="N", help="a candidate whose settings "
                        "hold out no subjects (val_subjects 0: every training subject fitted, as the final LOSO does) "
                        "is chosen on N validation subjects per fold drawn from its training subjects (default 2)")
    parser.add_argument("--keep", metavar="NAME", help="the current choice: it stays unless a challenger is ahead "
                        "of it in at least --confidence of the fold draws (needs both report folders under --out)")
    parser.add_argument("--challengers", nargs="+", metavar="NAME", help="with --keep: only these candidates may "
                        "challenge it (say, this round's); the others ahead of it on the mean were decided in their "
                        "own rounds and are listed, not resampled (their report folders may be gone); default: all")
    parser.add_argument("--confidence", type=float, default=0.9, help="with --keep: the share of fold draws a "
                        "challenger must be ahead in (default 0.9)")
    parser.add_argument("--resamples", type=int, default=2000, help="fold draws for the paired intervals")
    args = parser.parse_args(argv)
    if not 0 < args.confidence <= 1:
        parser.error(f"--confidence {args.confidence}: give a share of draws in (0, 1], e.g. 0.9")
    if args.challengers and not args.keep:
        parser.error("--challengers names who may challenge the --keep candidate: give --keep NAME too")
    if args.seeds and len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds {args.seeds}: name each seed once")

    import yaml

    from mer_tf.paired import describe
    from mer_tf.training import TrainConfig, run_loso

    candidates = yaml.safe_load(Path(args.candidates).read_text()) or []
    if not isinstance(candidates, list) or not all(isinstance(c, dict) and "name" in c for c in candidates):
        print(f"error: {args.candidates} must be a list of {{name, overrides}} mappings", file=sys.stderr)
        return 2
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                if "overrides" in entry and not entry.get("role"):  # seeds and ablation cells are not candidates
                    done[_key(entry["overrides"])] = entry
    base = {"data": args.data} if args.data else {}
    base_seed = TrainConfig.from_file(args.config, **base).seed
    seeds = args.seeds or [base_seed]
    for cand in candidates:
        if args.only and cand["name"] not in args.only:
            continue
        own = {**base, **(cand.get("overrides") or {})}
        own_seed = TrainConfig.from_file(args.config, **own).seed
        for seed in seeds:
            overrides, name = (own, cand["name"]) if seed == own_seed else \
                ({**own, "seed": seed}, f"{cand['name']}_seed{seed}")
            if _key(overrides) in done:
                print(f"{name}: in the log already, skipped")
                continue
            config = _selection_split(TrainConfig.from_file(args.config, **overrides), args.selection_subjects)
            t0 = time.time()
            report = _finished_report(Path(args.out) / name, config)
            reused = report is not None
            if not reused:
                result = run_loso(config, Path(args.out) / name)
                report = {"validation_scores": result.validation, "selection": result.selection,
                          "scores": result.scores}
            entry = {
                "name": name,
                "candidate": cand["name"],
                "overrides": overrides,
                "config": config.to_dict(),
                "validation": _pick(report.get("validation_scores")),
                "selection": {"subjects": report["selection"]["subjects"], **_pick(report["selection"]["scores"])}
                if report.get("selection") else {},
                "test": _pick(report.get("scores")),
                "minutes": None if reused else round((time.time() - t0) / 60, 2),
                "date": time.strftime("%Y-%m-%d %H:%M"),
            }
            if reused:
                entry["reused"] = f"the finished report in {Path(args.out) / name} (same settings), not run again"
            with open(log_path, "a") as fh:
                fh.write(json.dumps(entry) + "\n")
            done[_key(overrides)] = entry
            v, t = entry["validation"].get("cnn", {}), entry["test"].get("cnn", {})
            print(f"{name}: validation UF1 {v.get('uf1', float('nan')):.3f} UAR {v.get('uar', float('nan')):.3f}"
                  f" | test UF1 {t.get('uf1', float('nan')):.3f} | {entry['minutes']} min")
    # Only selection candidates compete: lines with a `role` (other seeds, ablation cells) have other
    # validation subjects or other models, so their validation scores do not compare.
    groups: dict[str, dict[int, dict]] = {}
    for e in done.values():
        if e.get("validation") and selection_of(e):
            groups.setdefault(_candidate_key(e), {})[_seed_of(e, base_seed)] = e
    # a candidate competes with every requested seed run; it is named by its line without a seed override
    unbiased = sorted(
        ({s: runs[s] for s in seeds} for runs in groups.values() if all(s in runs for s in seeds)),
        key=lambda runs: -_mean_uf1(runs))
    named = {_name(runs): runs for runs in unbiased}
    if unbiased:
        best = unbiased[0]
        if args.keep:
            kept = named.get(args.keep)
            if kept is None:
                print(f"error: --keep {args.keep}: no such candidate in the log with seeds {seeds}; candidates are "
                      f"{list(named)}", file=sys.stderr)
                return 2
            unknown = sorted(set(args.challengers or []) - set(named))
            if unknown:
                print(f"error: --challengers {' '.join(unknown)}: no such candidate in the log with seeds {seeds}; "
                      f"candidates are {list(named)}", file=sys.stderr)
                return 2
            # each candidate ahead of the kept one on the mean, best first, challenges it in turn
            ahead = []
            for runs in unbiased[:unbiased.index(kept)]:
                if not args.challengers or _name(runs) in args.challengers:
                    ahead.append(runs)
                else:
                    print(f"{_name(runs)} is ahead of {args.keep} on the mean ({_mean_uf1(runs):.4f} against "
                          f"{_mean_uf1(kept):.4f}), decided in its own round (not in --challengers): not a "
                          "challenger in this run")
            chosen, unpaired = kept, []
            for runs in ahead:
                boot = _paired(Path(args.out), runs, kept, args.resamples)
                if boot is None:
                    unpaired.append(_name(runs))
                    print(f"{_name(runs)} is ahead of {args.keep} on the mean, but their report folders under "
                          f"{args.out} lack validation predictions, so the margin cannot be resampled: not a "
                          "challenger in this run")
                    continue
                if boot["uf1"]["a_better"] >= args.confidence:
                    chosen = runs
                    break
                print(f"{_name(runs)} is ahead of {args.keep} in {100 * boot['uf1']['a_better']:.0f} % of the "
                      f"fold draws, under --confidence {args.confidence:.2f}: {args.keep} stays")
            if chosen is kept and unpaired and len(unpaired) == len(ahead):
                print(f"error: --keep {args.keep}: no candidate ahead of it could be resampled ({unpaired}); put "
                      f"their report folders under {args.out}", file=sys.stderr)
                return 2
            best = chosen
        # every other candidate's interval is read against the choice (with --keep, the kept or its winner)
        boots = {_name(r): _paired(Path(args.out), best, r, args.resamples) for r in unbiased if r is not best}
        first = best[seeds[0]]
        pooled = f", mean over seeds {seeds}" if len(seeds) > 1 else ""
        print(f"chosen on UF1 of subjects never fitted on ({selection_of(first).get('subjects', '')}{pooled}): "
              f"{_name(best)} {_candidate_overrides(first)}")
        for runs in unbiased:
            boot = boots.get(_name(runs))
            note = f"  ({_name(best)} - this: {describe(boot, _name(best))})" if boot else ""
            each = " / ".join(f"{selection_of(runs[s])['cnn']['uf1']:.3f}" for s in seeds)
            per_seed = f" ({each})" if len(seeds) > 1 else ""
            print(f"  {_name(runs)}: {_mean_uf1(runs):.3f}{per_seed}{note}")
    candidates = [e for e in done.values() if e.get("validation") and not e.get("role")]
    biased = sorted((e for e in candidates if not selection_of(e)), key=lambda e: -e["validation"]["cnn"]["uf1"])
    if biased:
        print(f"best early-stopped candidate on its own (early-stopping) validation UF1: {biased[0]['name']}")
    return 0


def _selection_split(config, subjects: int):
    """`config` with `subjects` validation subjects per fold if it holds out none: a choice needs unseen subjects.

    The final LOSO (configs/megc2019.yaml) fits every training subject; its
    settings are chosen on runs that hold out a few of them and are scored
    there (patience 0: they only score, they choose no epoch).
    """
    if config.val_subjects or config.score_subjects:
        return config
    if subjects < 1:
        raise SystemExit(f"error: --selection-subjects {subjects}: a choice needs at least 1 unseen subject per fold")
    return config.with_overrides(val_subjects=subjects)


def _mean_uf1(runs: dict) -> float:
    return sum(selection_of(e)["cnn"]["uf1"] for e in runs.values()) / len(runs)


def _name(runs: dict) -> str:
    e = next(iter(runs.values()))
    return e.get("candidate", e["name"])


def _candidate_overrides(entry: dict) -> dict:
    return {k: v for k, v in entry["overrides"].items() if k != "seed"}


def _paired(out: Path, a: dict, b: dict, resamples: int) -> dict | None:
    """Fold bootstrap of a - b ({seed: log line} each) on their validation predictions.

    None unless both are fixed-schedule runs whose report folders are under
    `out`: only those are scored on their validation subjects (an
    early-stopped run's selection subjects are not in that file).
    """
    from mer_tf.paired import bootstrap_sources

    entries = [*a.values(), *b.values()]
    if any(e.get("config", {}).get("patience") != 0 for e in entries):
        return None
    pairs = [(_source(out, a[s], b[s]), _source(out, b[s], a[s])) for s in a]
    if not all(f.is_file() for pair in pairs for f, _ in pair):
        return None
    try:
        return bootstrap_sources(pairs, resamples=resamples)
    except ValueError as err:  # other seeds or validation draws: not paired
        print(f"  (no paired interval for {_name(a)} - {_name(b)}: {err})")
        return None


def _source(out: Path, entry: dict, other: dict) -> tuple[Path, str]:
    """Where a candidate's validation predictions are, as (CSV, column).

    Its own report's `cnn` column; or, when that report is gone and `other`
    holds the very same fit, the column of other's report that reads it: a
    same-weights pair, tighter than two runs (a rerun of one configuration
    on another machine moved the selection UF1 by .005 and the test UF1 by
    .015). That is `cnn_single` when `other` is the same fit with
    `flip_average` on (read without the mirror), and `cnn_first` when
    `other` is an ensemble of the same settings (its member 0 is the single
    fit of that seed).
    """
    own = out / entry["name"] / "validation_predictions.csv"
    column = None if own.is_file() else _same_fit_column(other, entry)
    if column is None:
        return own, "cnn"
    return out / other["name"] / "validation_predictions.csv", column


def _same_fit_column(holder: dict, plain: dict) -> str | None:
    """The column of `holder`'s report that is `plain`'s fit read as `plain` reads it, or None.

    "cnn_single": `holder` ran exactly `plain`'s settings (seed included)
    with `flip_average` added; "cnn_first": with `ensemble` above 1 added.
    """
    from mer_tf.training.config import TrainConfig

    defaults = json.loads(json.dumps(TrainConfig().to_dict()))  # a setting added later ran at its default

    def settings(entry):
        return {k: v for k, v in {**defaults, **(entry.get("config") or {})}.items() if k not in _NOT_SETTINGS}

    a, b = settings(holder), settings(plain)
    differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    if differ == {"flip_average"} and a["flip_average"]:
        return "cnn_single"
    if differ == {"ensemble"} and int(b["ensemble"]) == 1:
        return "cnn_first"
    return None


def selection_of(entry: dict) -> dict:
    """A log line's scores on subjects its fit never saw ({} for none).

    Lines written before the `selection` field: an early-stopped run has
    none; a fixed-schedule run (patience 0) never fitted on its validation
    subjects, so those are its selection subjects.
    """
    if "selection" in entry:
        return entry["selection"]
    from mer_tf.training.loso import selection_scores

    found = selection_scores(entry.get("config", {}).get("patience"), entry.get("validation", {}), {})
    return {"subjects": found["subjects"], **found["scores"]} if found else {}


if __name__ == "__main__":
    sys.exit(main())
