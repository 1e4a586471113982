"""One Markdown table from `mer loso` and `mer ablate` report folders: mean ± sd over seeds, per-source slices, paired deltas.

Give each report folder a row label; folders with the same label are seeds of
one configuration (the seed is read from its scores.json). An ablation
report adds its cells the same way (`--ablation LABEL=DIR:CELL`, every seed
the report ran). Paired deltas compare two row labels on the seeds both ran
(same seed = same folds, validation draws and initial weights), with a
fold-resampled 95 % interval of the mean difference and how often A stays
above B (`mer_tf.metrics.paired_bootstrap`: the 68 test folds are drawn with
replacement, the same draw for every seed); rows read from fusion policies
have no per-sample predictions here and get the deltas alone.

    python scripts/loso_table.py --run "ECCNN=reports/eccnn_s0" --run "ECCNN=reports/eccnn_s1" \\
        --run "ECCNN (no local region)=reports/nolrl_s0" --column "ECCNN + ECRL=ECCNN:fused" \\
        --ablation "ConvNet=reports/ablate_convnet:convnet" --pair "ECCNN" "ECCNN (no local region)"
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def _pm(values: list[float]) -> str:
    if len(values) > 1:
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
    return f"{values[0]:.3f}"


def _split(spec: str, what: str) -> tuple[str, str, str]:
    label, _, rest = spec.partition("=")
    src, _, part = rest.rpartition(":")
    if not label or not src or not part:
        raise SystemExit(f"{what} {spec!r} must read LABEL=SOURCE:PART")
    return label, src, part


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=DIR", help="a LOSO report folder")
    parser.add_argument("--ablation", action="append", default=[], metavar="LABEL=DIR:CELL",
                        help="a cell of a `mer ablate` report folder (all its seeds)")
    parser.add_argument("--column", action="append", default=[], metavar="LABEL=RUNLABEL:COLUMN",
                        help="an extra row from another prediction column (ecrl, fused) of a run label")
    parser.add_argument("--policy", action="append", default=[], metavar="LABEL=RUNLABEL:POLICY",
                        help="an extra row: the fused label under another fusion policy (e.g. megc3_check)")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("A", "B"), help="paired A - B")
    parser.add_argument("--slices", default="casme2,samm,smic-hs")
    parser.add_argument("--resamples", type=int, default=2000, help="fold draws for the paired intervals (0: none)")
    args = parser.parse_args(argv)

    # label -> seed -> {"scores": {"all"|slice: {uf1, uar}}, "val": validation UF1 or None,
    #                   "pred": (predictions CSV, column), absent for fusion-policy rows}
    series: dict[str, dict[int, dict]] = {}
    reports: dict[str, dict[int, dict]] = {}
    for spec in args.run:
        label, _, folder = spec.partition("=")
        data = json.loads((Path(folder) / "scores.json").read_text())
        seed = int(data["config"]["seed"])
        reports.setdefault(label, {})[seed] = data
        series.setdefault(label, {})[seed] = {
            "scores": data["scores"]["cnn"],
            "val": data.get("validation_scores", {}).get("cnn", {}).get("all", {}).get("uf1"),
            "pred": (Path(folder) / "predictions.csv", "cnn")}
    for spec in args.ablation:
        label, folder, cell = _split(spec, "--ablation")
        data = json.loads((Path(folder) / "ablation.json").read_text())
        found = {k: v for k, v in data["runs"].items() if k.split("/seed-")[0] == cell}
        if not found:
            raise SystemExit(f"cell {cell!r} is not in {folder}/ablation.json; it has {sorted(data['runs'])}")
        for key, run in found.items():
            seed = int(key.split("/seed-")[1])
            series.setdefault(label, {})[seed] = {
                "scores": run["scores"]["cnn"], "val": run.get("validation", {}).get("cnn", {}).get("all", {}).get("uf1"),
                "pred": (Path(folder) / f"predictions_{cell}_seed{seed}.csv", "cnn")}
    for spec in args.column:
        label, src, column = _split(spec, "--column")
        series[label] = {s: {"scores": d["scores"][column],
                             "val": d.get("validation_scores", {}).get(column, {}).get("all", {}).get("uf1"),
                             "pred": (series[src][s]["pred"][0], column)}
                         for s, d in reports[src].items()}
    for spec in args.policy:  # pooled over all samples only
        label, src, policy = _split(spec, "--policy")
        series[label] = {s: {"scores": {"all": d["fusion_policies"]["test"][policy]["scores"]},
                             "val": d["fusion_policies"].get("validation", {}).get(policy, {}).get("scores", {}).get("uf1")}
                         for s, d in reports[src].items()}

    slices = args.slices.split(",")
    print("| Model | Seeds | UF1 | UAR | " + " | ".join(f"UF1 {s}" for s in slices) + " | val UF1 |")
    print("|---" * (5 + len(slices)) + "|")
    for label, by_seed in series.items():
        scores = [by_seed[s]["scores"] for s in sorted(by_seed)]
        val = [by_seed[s]["val"] for s in sorted(by_seed) if by_seed[s]["val"] is not None]
        cells = [_pm([x["all"]["uf1"] for x in scores]), _pm([x["all"]["uar"] for x in scores])]
        cells += [_pm([x[s]["uf1"] for x in scores]) if all(s in x for x in scores) else "-" for s in slices]
        cells.append(_pm(val) if val else "-")
        print(f"| {label} | {len(scores)} | " + " | ".join(cells) + " |")
    for a, b in args.pair:
        missing = [x for x in (a, b) if x not in series]
        if missing:
            raise SystemExit(f"--pair names unknown rows {missing}; rows are {list(series)}")
        common = sorted(set(series[a]) & set(series[b]))
        if not common:
            print(f"\n{a} - {b}: no common seed", file=sys.stderr)
            continue
        d1 = [series[a][s]["scores"]["all"]["uf1"] - series[b][s]["scores"]["all"]["uf1"] for s in common]
        d2 = [series[a][s]["scores"]["all"]["uar"] - series[b][s]["scores"]["all"]["uar"] for s in common]
        print(f"\nPaired, seeds {common}: {a} - {b}: ΔUF1 {_pm(d1)} ({', '.join(f'{d:+.3f}' for d in d1)}), "
              f"ΔUAR {_pm(d2)} ({', '.join(f'{d:+.3f}' for d in d2)})")
        boot = _bootstrap(series[a], series[b], common, args.resamples)
        if boot:
            from mer_tf.paired import describe

            print("  " + describe(boot))
    return 0


def _bootstrap(rows_a: dict, rows_b: dict, seeds: list[int], resamples: int) -> dict | None:
    """Paired fold bootstrap of A - B over `seeds`, or None where a row has no per-sample predictions."""
    if resamples < 1 or any(not rows_a[s].get("pred") or not rows_b[s].get("pred") for s in seeds):
        return None
    from mer_tf.paired import bootstrap_sources

    try:
        return bootstrap_sources([(rows_a[s]["pred"], rows_b[s]["pred"]) for s in seeds], resamples=resamples)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    sys.exit(main())
