"""The decision strategy of paper Fig. 6, as a table (data) that can be swapped."""

from __future__ import annotations

import copy

from mer_tf.labels import CLASSES, MEGC3

SCHEMES = {"seven": CLASSES, "megc3": MEGC3}

ACTIONS = ("keep", "check", "ecrl")

# reason codes returned by ``fuse``: short, stable strings that reports can tally
KEPT = "kept"  # the policy does not consult ECRL for this CNN label
CONFIRMED = "confirmed"  # ECRL agrees with the CNN
CNN_STANDS = "cnn_stands"  # they disagree; the CNN is kept
ECRL_WINS = "ecrl_wins"  # they disagree and a label listed in ecrl_wins is involved: ECRL's label
ECRL_CHOSEN = "ecrl_chosen"  # action "ecrl": ECRL's label whenever it has one
NO_VERDICT = "no_ecrl_verdict"  # no landmarks, or no rule fired: the CNN is kept
REASONS = (KEPT, CONFIRMED, CNN_STANDS, ECRL_WINS, ECRL_CHOSEN, NO_VERDICT)

PAPER_TABLE = {
    "name": "paper",
    # CNN label -> action: keep (ECRL not asked), check (confirm or disagree), ecrl (take ECRL's label)
    "cnn": {
        "Neutral": "keep", "Happy": "keep", "Surprise": "keep",
        "Angry": "check", "Fear": "check", "Disgust": "check", "Sad": "check",
    },
    # on a checked disagreement ECRL wins when either side says one of these (the paper: Disgust,
    # rare in CNN training data, where ECRL was the more reliable judge)
    "ecrl_wins": ["Disgust"],
}

# Fig. 6 read on the MEGC 3 classes. Literally, it keeps the CNN's positive and
# surprise and checks its negative; ECRL's Disgust override then never changes
# a 3-class label (Disgust is negative), so the literal reading is the CNN.
MEGC3_PAPER_TABLE = {
    "name": "megc3_paper",
    "scheme": "megc3",
    "cnn": {"negative": "check", "positive": "keep", "surprise": "keep"},
    "ecrl_wins": [],
}
# The reading in the spirit of "ECRL checks the CNN's negative verdicts": a CNN
# negative is overturned when a Happy or Surprise rule fires (positive, surprise).
MEGC3_CHECK_TABLE = {
    "name": "megc3_check",
    "scheme": "megc3",
    "cnn": {"negative": "check", "positive": "keep", "surprise": "keep"},
    "ecrl_wins": ["positive", "surprise"],
}


class FusionPolicy:
    """How the CNN's label and ECRL's verdict make the final label.

    The paper's policy (``FusionPolicy.paper()``): the CNN's Neutral, Happy
    and Surprise are kept; its Angry, Fear, Disgust and Sad are checked by
    ECRL: agreement confirms, disagreement keeps the CNN, except when either
    side says Disgust, where ECRL wins. Without an ECRL verdict (no landmarks,
    no rule fired) the CNN is kept. Other policies are other tables.

    Args:
        table: ``{"name": str, "scheme": "seven" (default) or "megc3",
            "cnn": {class: "keep"|"check"|"ecrl"} for every class of the
            scheme, "ecrl_wins": [class, ...]}``. In the megc3 scheme both
            labels are MEGC classes (map ECRL's verdict with SEVEN_TO_MEGC3).

    Example:
        >>> FusionPolicy.paper().fuse("Sad", "Disgust")
        ('Disgust', 'ecrl_wins')
    """

    def __init__(self, table: dict):
        if not isinstance(table, dict) or not isinstance(table.get("cnn"), dict):
            raise ValueError("A fusion table needs a 'cnn' mapping from each class to an action.")
        scheme = table.get("scheme", "seven")
        if scheme not in SCHEMES:
            raise ValueError(f"Unknown fusion scheme {scheme!r}; use one of {sorted(SCHEMES)}.")
        classes = SCHEMES[scheme]
        cnn = table["cnn"]
        missing = [c for c in classes if c not in cnn]
        unknown = sorted(set(cnn) - set(classes))
        if missing or unknown:
            raise ValueError(f"The fusion table's 'cnn' must list exactly {classes}; missing {missing}, unknown {unknown}.")
        bad = {c: a for c, a in cnn.items() if a not in ACTIONS}
        if bad:
            raise ValueError(f"Unknown fusion actions {bad}; use one of {ACTIONS}.")
        wins = list(table.get("ecrl_wins", []))
        if set(wins) - set(classes):
            raise ValueError(f"'ecrl_wins' lists unknown classes {sorted(set(wins) - set(classes))}; use {classes}.")
        self.name = str(table.get("name", "custom"))
        self.scheme = scheme
        self.classes = classes
        self.actions = {c: cnn[c] for c in classes}
        self.ecrl_wins = frozenset(wins)

    @classmethod
    def paper(cls) -> "FusionPolicy":
        """Fig. 6 of the paper."""
        return cls(PAPER_TABLE)

    @classmethod
    def cnn_only(cls, scheme: str = "seven") -> "FusionPolicy":
        """ECRL never changes anything: the ablation baseline."""
        return cls({"name": "cnn_only", "scheme": scheme, "cnn": {c: "keep" for c in SCHEMES[scheme]}, "ecrl_wins": []})

    @classmethod
    def check_all(cls) -> "FusionPolicy":
        """Like the paper, but the positive classes are checked too."""
        table = copy.deepcopy(PAPER_TABLE)
        table.update(name="check_all", cnn={c: "check" for c in CLASSES})
        return cls(table)

    @classmethod
    def from_table(cls, table: dict) -> "FusionPolicy":
        return cls(table)

    @classmethod
    def megc3_paper(cls) -> "FusionPolicy":
        """Fig. 6 read literally on the MEGC 3 classes (it then equals the CNN; see MEGC3_PAPER_TABLE)."""
        return cls(MEGC3_PAPER_TABLE)

    @classmethod
    def megc3_check(cls) -> "FusionPolicy":
        """On 3 classes: ECRL's positive or surprise verdict overturns a CNN negative."""
        return cls(MEGC3_CHECK_TABLE)

    @classmethod
    def named(cls, name: str) -> "FusionPolicy":
        """``"paper"``, ``"cnn_only"``, ``"check_all"``, ``"megc3_paper"`` or ``"megc3_check"``."""
        makers = {"paper": cls.paper, "cnn_only": cls.cnn_only, "check_all": cls.check_all,
                  "megc3_paper": cls.megc3_paper, "megc3_check": cls.megc3_check}
        if name not in makers:
            raise ValueError(f"Unknown fusion policy {name!r}; choose one of {sorted(makers)} or give a table.")
        return makers[name]()

    def to_table(self) -> dict:
        return {"name": self.name, "scheme": self.scheme, "cnn": dict(self.actions), "ecrl_wins": sorted(self.ecrl_wins)}

    def needs_ecrl(self, cnn_label: str) -> bool:
        """Whether ECRL's verdict can change this CNN label (callers may skip ECRL otherwise)."""
        return self.actions[cnn_label] != "keep"

    def fuse(self, cnn_label: str, ecrl_label: str | None) -> tuple[str, str]:
        """(final label, reason code) from the CNN's label and ECRL's (None: no verdict)."""
        action = self.actions.get(cnn_label)
        if action is None:
            raise ValueError(f"Unknown CNN label {cnn_label!r}; use one of {self.classes}.")
        if ecrl_label is not None and ecrl_label not in self.actions:
            raise ValueError(f"Unknown ECRL label {ecrl_label!r}; use one of {self.classes} or None.")
        if action == "keep":
            return cnn_label, KEPT
        if ecrl_label is None:
            return cnn_label, NO_VERDICT
        if action == "ecrl":
            return ecrl_label, (CONFIRMED if ecrl_label == cnn_label else ECRL_CHOSEN)
        if ecrl_label == cnn_label:
            return cnn_label, CONFIRMED
        if cnn_label in self.ecrl_wins or ecrl_label in self.ecrl_wins:
            return ecrl_label, ECRL_WINS
        return cnn_label, CNN_STANDS

    def __eq__(self, other) -> bool:
        return isinstance(other, FusionPolicy) and self.to_table() == other.to_table()

    def __repr__(self) -> str:
        return f"FusionPolicy({self.name!r})"
