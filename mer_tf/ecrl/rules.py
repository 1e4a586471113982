"""The ECRL rule table: action-unit evidence to emotions, after EMFACS.

Written once, here, as data; ``rules_table_markdown()`` renders it for
docs/ecrl.md. Each piece of *evidence* is one feature (``features.py``) crossing a
threshold in a direction: ``AU12`` is present when ``au12 >= t["AU12"]``,
``EQ10_DOWN`` when ``-eq10_mouth_curvature >= t["EQ10_DOWN"]``. A rule fires
when all its ``required`` evidence is present, at least one of ``any_of`` (if
it lists any), and none of ``excluded``. Among the rules that fire, the one
with the strongest evidence (mean of value / threshold over its present
evidence) wins; ties go to the earlier row.

Landmarks cannot show every EMFACS unit: AU6 (cheek raiser) and AU23 (lip
tightener) move skin more than landmarks, and AU16 (lower lip depressor) is
not separable from AU26 (jaw drop) on 68 points. Those units are listed in the
EMFACS column but not used. No rule says Neutral: "no rule fired" is the
absence of evidence, and fusion then keeps the CNN.
"""

from __future__ import annotations

from dataclasses import dataclass

# name -> (feature, sign, default threshold, meaning). Defaults are in the
# feature's unit (inter-ocular distances, or a ratio), set from the size of
# posed expressions against dlib's landmark noise (about 0.01-0.02 IOD on a
# 100 px face); micro-expressions are smaller, so calibrate on your data.
EVIDENCE: dict[str, tuple[str, int, float, str]] = {
    "AU1": ("au1", +1, 0.04, "inner brow raised"),
    "AU2": ("au2", +1, 0.04, "outer brow raised"),
    "AU4": ("au4", +1, 0.03, "brows lowered or drawn together"),
    "AU5": ("au5", +1, 0.025, "upper lids raised"),
    "AU7": ("au7", +1, 0.025, "lower lids raised (tightened)"),
    "AU9": ("au9", +1, 0.03, "nose base raised (wrinkled)"),
    "AU12": ("au12", +1, 0.03, "mouth corners raised"),
    "AU15": ("au15", +1, 0.02, "mouth corners pulled down"),
    "AU20": ("au20", +1, 0.05, "mouth stretched wider"),
    "AU26": ("au26", +1, 0.08, "jaw dropped"),
    "EQ8_UP": ("eq8_brow_position", +1, 0.02, "brows higher above the eyes (Eq. 8)"),
    "EQ9_NARROW": ("eq9_brow_width_ratio", -1, 0.04, "brows narrower (Eq. 9)"),
    "EQ10_UP": ("eq10_mouth_curvature", +1, 0.04, "mouth curved up (Eq. 10)"),
    "EQ10_DOWN": ("eq10_mouth_curvature", -1, 0.03, "mouth curved down (Eq. 10)"),
}


@dataclass(frozen=True)
class Rule:
    """One row of the table: an emotion and the evidence that makes it."""

    label: str
    emfacs: str
    required: tuple[str, ...]
    any_of: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.label}: " + "+".join(self.required) + (
            f"+any({','.join(self.any_of)})" if self.any_of else ""
        )

    def evidence(self) -> tuple[str, ...]:
        return self.required + self.any_of


RULES: tuple[Rule, ...] = (
    Rule("Happy", "6+12", required=("AU12", "EQ10_UP"), excluded=("AU15",)),
    Rule("Surprise", "1+2+5B+26", required=("AU1", "AU2"), any_of=("AU5", "AU26", "EQ8_UP"), excluded=("AU4",)),
    Rule("Fear", "1+2+4+5+7+20+26", required=("AU1", "AU4"), any_of=("AU5", "AU20", "AU26"), excluded=("AU12",)),
    Rule("Angry", "4+5+7+23", required=("AU4",), any_of=("AU5", "AU7"), excluded=("AU1", "AU12")),
    Rule("Disgust", "9+15+16", required=("AU9",), any_of=("AU15", "AU4", "EQ9_NARROW"), excluded=("AU12",)),
    Rule("Sad", "1+4+15", required=("AU15",), any_of=("AU1", "AU4", "EQ10_DOWN", "EQ9_NARROW"),
         excluded=("AU12", "AU9")),
)


def default_thresholds() -> dict[str, float]:
    """The documented default threshold of every evidence name."""
    return {name: spec[2] for name, spec in EVIDENCE.items()}


def evidence_strength(features: dict[str, float], thresholds: dict[str, float]) -> dict[str, float]:
    """value / threshold (signed by the evidence's direction) for every evidence name; >= 1 is present."""
    return {name: sign * features[feat] / thresholds[name] for name, (feat, sign, _, _) in EVIDENCE.items()}


def rules_table_markdown() -> str:
    """The rule table (and the evidence definitions) as Markdown, as docs/ecrl.md shows it."""
    lines = [
        "| Emotion | EMFACS prototype | Required (all) | Any of (one) | Excluded (none) |",
        "|---|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(
            f"| {r.label} | {r.emfacs} | {' + '.join(r.required)} | {', '.join(r.any_of) or '-'} | "
            f"{', '.join(r.excluded) or '-'} |"
        )
    lines += ["", "| Evidence | Feature | Present when | Default threshold | Meaning |", "|---|---|---|---|---|"]
    for name, (feat, sign, thr, meaning) in EVIDENCE.items():
        cond = f"{feat} >= t" if sign > 0 else f"-{feat} >= t"
        lines.append(f"| {name} | `{feat}` | `{cond}` | {thr:g} | {meaning} |")
    return "\n".join(lines) + "\n"
