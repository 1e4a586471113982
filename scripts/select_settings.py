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
to choose.

How sure is a win? Two fixed-schedule candidates with the same seed are
validated on the same subjects of the same folds, so the script resamples
those folds (`mer_tf.paired`) and prints, for the winner against each other
candidate whose report folder is under --out, a 95 % interval of the UF1
difference and how often the winner stays ahead. With `--keep NAME` the named
candidate (the current choice) stays unless a challenger is ahead of it in
at least `--confidence` of the draws: a margin inside the resampling noise
does not move the choice. (Added after the fourth round, which replaced
fixed30_cos by fixed40_cos on a .002 margin: ahead in about 60 % of draws
against its other challenger, and worse on the test folds of all three seeds.)

Every candidate, winners and losers alike, is appended to a JSON-lines log
(one line per run: settings, validation and test scores, minutes), so a
rerun skips the candidates already in the log.

Example:
    python scripts/select_settings.py --config configs/megc2019.yaml \\
        --candidates configs/megc2019_candidates.yaml --out runs/select --log results/megc2019/settings_log.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _key(overrides: dict) -> str:
    return json.dumps(overrides, sort_keys=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="base YAML config")
    parser.add_argument("--candidates", required=True, help="YAML: a list of {name, overrides} mappings")
    parser.add_argument("--out", required=True, help="folder for each candidate's LOSO report")
    parser.add_argument("--log", required=True, help="JSON-lines log of every configuration tried (appended)")
    parser.add_argument("--data", help="dataset root (overrides the config)")
    parser.add_argument("--only", nargs="+", help="run only these candidate names")
    parser.add_argument("--keep", metavar="NAME", help="the current choice: it stays unless a challenger is ahead "
                        "of it in at least --confidence of the fold draws (needs both report folders under --out)")
    parser.add_argument("--confidence", type=float, default=0.9, help="with --keep: the share of fold draws a "
                        "challenger must be ahead in (default 0.9)")
    parser.add_argument("--resamples", type=int, default=2000, help="fold draws for the paired intervals")
    args = parser.parse_args(argv)
    if not 0 < args.confidence <= 1:
        parser.error(f"--confidence {args.confidence}: give a share of draws in (0, 1], e.g. 0.9")

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
    for cand in candidates:
        if args.only and cand["name"] not in args.only:
            continue
        overrides = {**base, **(cand.get("overrides") or {})}
        if _key(overrides) in done:
            print(f"{cand['name']}: in the log already, skipped")
            continue
        config = TrainConfig.from_file(args.config, **overrides)
        t0 = time.time()
        result = run_loso(config, Path(args.out) / cand["name"])
        entry = {
            "name": cand["name"],
            "overrides": overrides,
            "config": config.to_dict(),
            "validation": {k: {"uf1": v["all"]["uf1"], "uar": v["all"]["uar"]} for k, v in result.validation.items()},
            "selection": {"subjects": result.selection["subjects"],
                          **{k: {"uf1": v["all"]["uf1"], "uar": v["all"]["uar"]}
                             for k, v in result.selection["scores"].items()}} if result.selection else {},
            "test": {k: {"uf1": v["all"]["uf1"], "uar": v["all"]["uar"]} for k, v in result.scores.items()},
            "minutes": round((time.time() - t0) / 60, 2),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        with open(log_path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        done[_key(overrides)] = entry
        v, t = entry["validation"].get("cnn", {}), entry["test"].get("cnn", {})
        print(f"{cand['name']}: validation UF1 {v.get('uf1', float('nan')):.3f} UAR {v.get('uar', float('nan')):.3f}"
              f" | test UF1 {t.get('uf1', float('nan')):.3f} | {entry['minutes']} min")
    # Only selection candidates compete: lines with a `role` (other seeds, ablation cells) have other
    # validation subjects or other models, so their validation scores do not compare.
    candidates = [e for e in done.values() if e.get("validation") and not e.get("role")]
    unbiased = sorted((e for e in candidates if selection_of(e)), key=lambda e: -selection_of(e)["cnn"]["uf1"])
    if unbiased:
        best = unbiased[0]
        boots = {e["name"]: _paired(Path(args.out), best, e, args.resamples) for e in unbiased[1:]}
        if args.keep:
            kept = next((e for e in unbiased if e["name"] == args.keep), None)
            if kept is None:
                print(f"error: --keep {args.keep}: no such candidate in the log; candidates are "
                      f"{[e['name'] for e in unbiased]}", file=sys.stderr)
                return 2
            if kept is not best:
                boot = boots.get(kept["name"])
                if boot is None:
                    print(f"error: --keep {args.keep}: {Path(args.out) / best['name']} or {Path(args.out) / kept['name']} "
                          "lacks validation predictions, so the margin cannot be resampled", file=sys.stderr)
                    return 2
                if boot["uf1"]["a_better"] < args.confidence:
                    print(f"{best['name']} is ahead of {kept['name']} in {100 * boot['uf1']['a_better']:.0f} % of the "
                          f"fold draws, under --confidence {args.confidence:.2f}: {kept['name']} stays")
                    best = kept
        print(f"chosen on UF1 of subjects never fitted on ({selection_of(best).get('subjects', '')}): {best['name']} {best['overrides']}")
        for e in unbiased:
            boot = boots.get(e["name"])
            note = f"  ({unbiased[0]['name']} - this: {describe(boot, unbiased[0]['name'])})" if boot else ""
            print(f"  {e['name']}: {selection_of(e)['cnn']['uf1']:.3f}{note}")
    biased = sorted((e for e in candidates if not selection_of(e)), key=lambda e: -e["validation"]["cnn"]["uf1"])
    if biased:
        print(f"best early-stopped candidate on its own (early-stopping) validation UF1: {biased[0]['name']}")
    return 0


def _paired(out: Path, a: dict, b: dict, resamples: int) -> dict | None:
    """Fold bootstrap of a - b on their validation predictions; None if not both fixed-schedule runs under `out`.

    Only fixed-schedule runs (patience 0) are scored on their validation
    subjects; an early-stopped run's selection subjects are not in that file.
    """
    from mer_tf.paired import bootstrap_sources

    if any(e.get("config", {}).get("patience") != 0 for e in (a, b)):
        return None
    files = [out / e["name"] / "validation_predictions.csv" for e in (a, b)]
    if not all(f.is_file() for f in files):
        return None
    try:
        return bootstrap_sources([((files[0], "cnn"), (files[1], "cnn"))], resamples=resamples)
    except ValueError as err:  # other seeds or validation draws: not paired
        print(f"  (no paired interval for {a['name']} - {b['name']}: {err})")
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
