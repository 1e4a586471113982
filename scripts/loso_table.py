"""One Markdown table from several `mer loso` report folders: mean ± sd over seeds, per-source slices, paired deltas.

Give each report folder a row label; folders with the same label are seeds of
one configuration (the seed is read from its scores.json). Paired deltas
compare two labels on the seeds both ran (same seed = same folds and
validation draws).

    python scripts/loso_table.py --run "ECCNN=reports/eccnn_s0" --run "ECCNN=reports/eccnn_s1" \\
        --run "ECCNN (no local region)=reports/nolrl_s0" --column "ECCNN + ECRL=ECCNN:fused" \\
        --pair "ECCNN" "ECCNN (no local region)"
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def _pm(values: list[float]) -> str:
    if len(values) > 1:
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
    return f"{values[0]:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=DIR", help="a LOSO report folder")
    parser.add_argument("--column", action="append", default=[], metavar="LABEL=RUNLABEL:COLUMN",
                        help="an extra row from another prediction column (ecrl, fused) of a run label")
    parser.add_argument("--policy", action="append", default=[], metavar="LABEL=RUNLABEL:POLICY",
                        help="an extra row: the fused label under another fusion policy (e.g. megc3_check)")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("A", "B"), help="paired A - B")
    parser.add_argument("--slices", default="casme2,samm,smic-hs")
    args = parser.parse_args(argv)

    runs: dict[str, dict[int, dict]] = defaultdict(dict)
    for spec in args.run:
        label, _, folder = spec.partition("=")
        data = json.loads((Path(folder) / "scores.json").read_text())
        runs[label][int(data["config"]["seed"])] = data
    rows = [(label, label, "cnn") for label in runs]
    for spec in args.column:
        label, _, rest = spec.partition("=")
        src, _, column = rest.partition(":")
        rows.append((label, src, column))
    for spec in args.policy:
        label, _, rest = spec.partition("=")
        src, _, policy = rest.partition(":")
        rows.append((label, src, "policy:" + policy))
    slices = args.slices.split(",")
    print("| Model | Seeds | UF1 | UAR | " + " | ".join(f"UF1 {s}" for s in slices) + " | val UF1 |")
    print("|---" * (5 + len(slices)) + "|")
    for label, src, column in rows:
        seeds = sorted(runs[src])
        if column.startswith("policy:"):  # pooled over all samples only
            entries = [runs[src][s]["fusion_policies"]["test"][column[7:]]["scores"] for s in seeds]
            vals = [runs[src][s]["fusion_policies"].get("validation", {}).get(column[7:], {}).get("scores", {}).get("uf1")
                    for s in seeds]
            vals = [v for v in vals if v is not None]
            print(f"| {label} | {len(seeds)} | {_pm([e['uf1'] for e in entries])} | {_pm([e['uar'] for e in entries])} | "
                  + " | ".join("-" for _ in slices) + f" | {_pm(vals) if vals else '-'} |")
            continue
        scores = [runs[src][s]["scores"][column] for s in seeds]
        val = [runs[src][s].get("validation_scores", {}).get(column, {}).get("all", {}).get("uf1") for s in seeds]
        val = [v for v in val if v is not None]
        cells = [_pm([x["all"]["uf1"] for x in scores]), _pm([x["all"]["uar"] for x in scores])]
        cells += [_pm([x[s]["uf1"] for x in scores]) if all(s in x for x in scores) else "-" for s in slices]
        cells.append(_pm(val) if val else "-")
        print(f"| {label} | {len(seeds)} | " + " | ".join(cells) + " |")
    for a, b in args.pair:
        common = sorted(set(runs[a]) & set(runs[b]))
        if not common:
            print(f"\n{a} - {b}: no common seed", file=sys.stderr)
            continue
        d1 = [runs[a][s]["scores"]["cnn"]["all"]["uf1"] - runs[b][s]["scores"]["cnn"]["all"]["uf1"] for s in common]
        d2 = [runs[a][s]["scores"]["cnn"]["all"]["uar"] - runs[b][s]["scores"]["cnn"]["all"]["uar"] for s in common]
        print(f"\nPaired, seeds {common}: {a} - {b}: ΔUF1 {_pm(d1)} ({', '.join(f'{d:+.3f}' for d in d1)}), "
              f"ΔUAR {_pm(d2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
