"""The pass rule of the aarch64 check: two per-frame traces of `mer-edge run` on the same frames.

A trace (``scripts/edge_trace.py trace``) is one JSON line of metadata, then one line per frame:
every face's 68 landmarks, its live CNN scores and CNN, ECRL and fused labels, and the
micro-expression events the frame closed. Two traces agree when all of these hold:

1. the same frames, and the same number of faces on every frame;
2. the events are identical: onset, apex and offset frames, CNN, ECRL and fused labels;
3. every landmark is within ``landmark_tol`` pixels (default 1 px: below what the frame resolves;
   the float face mesh under XNNPACK sums in another order on ARM, and the crop follows the box);
4. every per-frame label that differs is a near tie of the CNN: the CNN labels differ, ECRL's do
   not, and the two labels' score difference moved by at most ``tie_steps`` output steps between
   the platforms (default 2). The step is the int8 output's quantum (its scale: the
   log-probabilities come in multiples of it); for a float output it is taken as 0.001. The move is
   margin A + margin B, each platform's lead of its own label over the other's: a one-step rounding
   difference on each of the two scores (another CPU's integer kernels, or the crop moved by a
   sub-pixel landmark difference) moves it by two steps at most, and so can only turn round a lead
   that small. A label held by more is a real difference and fails, and so does any ECRL difference
   (its thresholds see the landmarks, which rule 3 bounds).

Every disagreement is listed with its margins, so a reader can judge the rule as well.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LANDMARK_TOL_PX = 1.0
TIE_STEPS = 2
FLOAT_STEP = 1e-3


def read_trace(path: str | Path) -> tuple[dict, list[dict]]:
    """(metadata, frame records) of a trace file."""
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or "meta" not in lines[0]:
        raise ValueError(f"{path} is not a trace from `edge_trace.py trace` (no metadata line); trace it again.")
    return lines[0]["meta"], lines[1:]


def _log_p(face: dict, label: str, labels: list[str]) -> float:
    if face.get("cnn_log_probs") is not None:
        return float(face["cnn_log_probs"][labels.index(label)])
    # only rounded probabilities (4 decimals): about 0.005 nats at p = 0.01, well below a step
    return math.log(max(float(face["cnn_scores"][label]), 1e-4))


@dataclass
class TraceComparison:
    """How trace B (another platform) compares with trace A (the reference, x86), and the verdict."""

    frames: int = 0
    frames_b: int = 0
    face_count_differs: list[int] = field(default_factory=list)
    worst_landmark_px: float = 0.0
    labelled: int = 0
    labels_equal: int = 0
    disagreements: list[dict] = field(default_factory=list)
    events_a: list[dict] = field(default_factory=list)
    events_b: list[dict] = field(default_factory=list)
    landmark_tol: float = LANDMARK_TOL_PX
    tie_tol: float = 0.0
    step: float = 0.0
    worst_score_move: float = 0.0  # largest change of one class's log-probability (p >= 0.01 on both)
    labels: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, a: tuple[dict, list[dict]], b: tuple[dict, list[dict]], landmark_tol: float = LANDMARK_TOL_PX,
           tie_steps: float = TIE_STEPS) -> "TraceComparison":
        (meta_a, rec_a), (meta_b, rec_b) = a, b
        step = float(meta_a.get("output_step") or 0.0) or FLOAT_STEP
        c = cls(frames=len(rec_a), frames_b=len(rec_b), landmark_tol=landmark_tol, step=step,
                tie_tol=tie_steps * step, labels=list(meta_a.get("labels") or []))
        c.events_a = [e for r in rec_a for e in r["events"]]
        c.events_b = [e for r in rec_b for e in r["events"]]
        for ra, rb in zip(rec_a, rec_b):
            if len(ra["faces"]) != len(rb["faces"]):
                c.face_count_differs.append(ra["frame"])
                continue
            for fa, fb in zip(ra["faces"], rb["faces"]):
                diff = np.abs(np.asarray(fa["landmarks"], float) - np.asarray(fb["landmarks"], float)).max()
                c.worst_landmark_px = max(c.worst_landmark_px, float(diff))
                c._labels(ra["frame"], fa, fb)
        return c

    def _labels(self, frame: int, fa: dict, fb: dict) -> None:
        if fa.get("label") is None and fb.get("label") is None:
            return
        self.labelled += 1
        if fa.get("cnn_scores") and fb.get("cnn_scores"):
            for k, pa in fa["cnn_scores"].items():
                if min(pa, fb["cnn_scores"].get(k, 0.0)) >= 0.01:
                    self.worst_score_move = max(self.worst_score_move, abs(_log_p(fa, k, self.labels) - _log_p(fb, k, self.labels)))
        same = fa.get("label") == fb.get("label") and fa.get("cnn") == fb.get("cnn") and fa.get("ecrl") == fb.get("ecrl")
        if same:
            self.labels_equal += 1
            return
        d = {"frame": frame, "face": fa.get("id"), "a": fa.get("label"), "b": fb.get("label"),
             "cnn_a": fa.get("cnn"), "cnn_b": fb.get("cnn"), "ecrl_a": fa.get("ecrl"), "ecrl_b": fb.get("ecrl")}
        if fa.get("cnn") is None or fb.get("cnn") is None or fa.get("ecrl") != fb.get("ecrl"):
            d.update(cause="ECRL" if fa.get("ecrl") != fb.get("ecrl") else "one side unlabelled", near_tie=False)
        elif fa["cnn"] == fb["cnn"]:
            d.update(cause="fusion", near_tie=False)  # same CNN and ECRL labels, different fused: never a tie
        else:
            # each platform's margin for its own winner over the other platform's winner
            d["margin_a"] = _log_p(fa, fa["cnn"], self.labels) - _log_p(fa, fb["cnn"], self.labels)
            d["margin_b"] = _log_p(fb, fb["cnn"], self.labels) - _log_p(fb, fa["cnn"], self.labels)
            d.update(cause="CNN", near_tie=bool(d["margin_a"] + d["margin_b"] <= self.tie_tol + 1e-9))
        self.disagreements.append(d)

    @property
    def events_identical(self) -> bool:
        return self.events_a == self.events_b

    @property
    def passed(self) -> bool:
        return (self.frames == self.frames_b and not self.face_count_differs and self.events_identical
                and self.worst_landmark_px <= self.landmark_tol and all(d["near_tie"] for d in self.disagreements))

    def lines(self) -> list[str]:
        """The report, one finding a line; the last line is the verdict."""
        out = [f"frames {self.frames} vs {self.frames_b}; frames whose face count differs "
               f"{len(self.face_count_differs)}{' ' + str(self.face_count_differs[:5]) if self.face_count_differs else ''}",
               f"events {len(self.events_a)} vs {len(self.events_b)}: "
               f"{'identical' if self.events_identical else 'DIFFERENT'} (onset/apex/offset frames, CNN, ECRL, fused)",
               f"largest landmark difference {self.worst_landmark_px:.3f} px (tolerance {self.landmark_tol:g} px)",
               f"per-frame labels equal {self.labels_equal}/{self.labelled}; near-tie tolerance "
               f"{self.tie_tol:.4f} (log-probability; {self.tie_tol / self.step:g} output steps of {self.step:.4f}); "
               f"largest move of one class's score {self.worst_score_move / self.step:.2f} steps"]
        if not self.events_identical:
            for ea, eb in zip(self.events_a, self.events_b):
                if ea != eb:
                    out.append(f"  first event difference: {ea} vs {eb}")
                    break
        for d in self.disagreements:
            if d["cause"] == "CNN":
                what = (f"CNN {d['cnn_a']} vs {d['cnn_b']}: leads {d['margin_a']:.4f} on A, {d['margin_b']:.4f} on B, "
                        f"moved {(d['margin_a'] + d['margin_b']) / self.step:.2f} steps")
            else:
                what = f"{d['cause']}: CNN {d['cnn_a']} vs {d['cnn_b']}, ECRL {d['ecrl_a']} vs {d['ecrl_b']}"
            out.append(f"  frame {d['frame']} face {d['face']}: label {d['a']} vs {d['b']}; {what}: "
                       f"{'near tie' if d['near_tie'] else 'NOT a near tie'}")
        verdict = "AGREE" if self.passed else "DISAGREE"
        out.append(f"{verdict}: events identical, landmarks within {self.landmark_tol:g} px, and every label "
                   f"difference a CNN near tie (moved at most {self.tie_tol / self.step:g} output steps)"
                   if self.passed else f"{verdict}: see the lines above")
        return out
