"""Choose training settings on validation subjects only, and log every configuration tried.

Each candidate (a set of TrainConfig overrides on a base config) runs one
full LOSO. Every fold's validation subjects (drawn from its training
subjects) are predicted too; pooled over the folds they give the candidate's
validation UF1, which is the only number the choice looks at. The test-fold
scores are logged beside it, for the record, and never used to choose.

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
    args = parser.parse_args(argv)

    import yaml

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
    ranked = sorted((e for e in done.values() if e.get("validation") and not e.get("role")),
                    key=lambda e: -e["validation"].get("cnn", {}).get("uf1", -1))
    if ranked:
        print(f"chosen on validation UF1: {ranked[0]['name']} {ranked[0]['overrides']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
