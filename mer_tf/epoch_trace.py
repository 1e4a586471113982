"""What choosing each fold's epoch on its own test subject would report.

An analysis of published protocols, never a score of mer-tf's. Some public
micro-expression code keeps, for every LOSO fold, the epoch whose predictions
on that fold's *test* subject were the most accurate: HTNet's `main_HTNet.py`
(github.com/wangzhifengharrison/HTNet) trains 800 epochs per fold and keeps the
predictions of the epoch with the best test accuracy (`<=`: the later epoch
on ties). The test subject then chooses its own model, so the pooled figure
is an upper bound of the network, not a held-out score.

`mer loso --trace-epochs` records each fold's predicted test classes after
every epoch (`epoch_trace.json`, written by `make_trace`); `read_trace` plus
`trace_scores` read one run four ways:

- ``last``: every fold's last epoch: mer-tf's own protocol, the same
  predictions as the report's CNN column;
- ``per_epoch``: the pooled scores had every fold stopped at epoch e;
- ``best_epoch``: the one epoch with the best pooled UF1 (chosen on the test
  folds: one number, chosen with every test subject);
- ``oracle``: each fold at the epoch of its best test accuracy, later epoch on
  ties (HTNet's published rule).

No TensorFlow here: the trace is plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mer_tf.metrics import pooled_scores


def make_trace(classes: Sequence[str], fold_results: Sequence[dict]) -> dict:
    """The JSON content of `epoch_trace.json` from `run_fold` results.

    Each result needs "name", "rows" (the test rows, in test order, with
    "truth" and "sample") and "epoch_trace" (per epoch, the predicted class
    index of every test sample, same order).
    """
    classes = list(classes)
    folds = []
    for res in fold_results:
        rows = res["rows"]
        by_epoch = res["epoch_trace"]
        if any(len(pred) != len(rows) for pred in by_epoch):
            raise ValueError(f"Fold {res['name']}: {len(rows)} test rows but an epoch with another count of "
                             "predictions; the trace and the rows must come from the same test samples.")
        folds.append({
            "name": res["name"],
            "samples": [r["sample"] for r in rows],
            "truth": [r["truth"] for r in rows],
            "pred_by_epoch": [[classes[int(i)] for i in pred] for pred in by_epoch],
        })
    return {"classes": classes, "folds": folds}


def read_trace(path: str | Path) -> dict:
    """`epoch_trace.json` from a report folder or the file itself, checked."""
    path = Path(path)
    if path.is_dir():
        path = path / "epoch_trace.json"
    try:
        trace = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"No epoch trace at {path}: run `mer loso ... --trace-epochs` to write one.") from None
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); rerun `mer loso ... --trace-epochs`.") from None
    if not isinstance(trace, dict) or not {"classes", "folds"} <= set(trace):
        raise ValueError(f"{path} is not an epoch trace (it needs 'classes' and 'folds').")
    epochs = {len(f["pred_by_epoch"]) for f in trace["folds"]}
    if len(epochs) != 1 or 0 in epochs:
        raise ValueError(f"{path}: the folds ran different numbers of epochs ({sorted(epochs)}); the trace is only "
                         "read for a fixed schedule (patience 0), where every fold runs every epoch.")
    return trace


def trace_scores(trace: dict) -> dict:
    """The run read four ways (module docstring): {"last", "best_epoch", "oracle", "per_epoch"}.

    "last", "best_epoch" and "oracle" are `pooled_scores` dicts ("best_epoch"
    and "oracle" carry the chosen "epoch"(s), 1-based); "per_epoch" is a list
    of {"epoch", "uf1", "uar"}.
    """
    classes, folds = trace["classes"], trace["folds"]
    n_epochs = len(folds[0]["pred_by_epoch"])
    truth = [t for f in folds for t in f["truth"]]

    def pooled_at(choose) -> dict:
        pred = [p for f in folds for p in f["pred_by_epoch"][choose(f)]]
        return pooled_scores(truth, pred, classes)

    per_epoch = []
    for e in range(n_epochs):
        s = pooled_at(lambda f, e=e: e)
        per_epoch.append({"epoch": e + 1, "uf1": s["uf1"], "uar": s["uar"]})
    best = int(np.argmax([p["uf1"] for p in per_epoch]))  # the first epoch with the highest UF1

    def oracle_epoch(fold) -> int:
        acc = [np.mean([p == t for p, t in zip(pred, fold["truth"])]) for pred in fold["pred_by_epoch"]]
        return int(len(acc) - 1 - np.argmax(acc[::-1]))  # the last epoch with the best test accuracy

    oracle = pooled_at(oracle_epoch)
    return {
        "last": pooled_at(lambda f: n_epochs - 1),
        "best_epoch": {**pooled_at(lambda f: best), "epoch": best + 1},
        "oracle": {**oracle, "epochs": {f["name"]: oracle_epoch(f) + 1 for f in folds}},
        "per_epoch": per_epoch,
    }
