"""The seven classes, the datasets' label maps and the MEGC 3-class view.

Seven classes, in this order everywhere (paper section 1): Neutral, Happy,
Surprise, Angry, Fear, Disgust, Sad. The MEGC 2019 composite uses three
classes (negative, positive, surprise) and is a view of the seven.
"""

from __future__ import annotations

CLASSES: tuple[str, ...] = ("Neutral", "Happy", "Surprise", "Angry", "Fear", "Disgust", "Sad")
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}
NUM_CLASSES = len(CLASSES)

MEGC3: tuple[str, ...] = ("negative", "positive", "surprise")
MEGC3_INDEX: dict[str, int] = {name: i for i, name in enumerate(MEGC3)}

# The negative emotions the paper's fusion sends to ECRL for a second opinion.
NEGATIVE: frozenset[str] = frozenset({"Angry", "Fear", "Disgust", "Sad"})

# Raw dataset labels (lower-cased) -> seven classes. Labels mapped to None have
# no seven-class counterpart and are excluded by default (DATASETS.md).
RAW_TO_SEVEN: dict[str, str | None] = {
    "neutral": "Neutral",
    "happiness": "Happy",
    "happy": "Happy",
    "surprise": "Surprise",
    "anger": "Angry",
    "angry": "Angry",
    "fear": "Fear",
    "disgust": "Disgust",
    "sadness": "Sad",
    "sad": "Sad",
    "repression": None,
    "contempt": None,
    "others": None,
    "other": None,
}

# Raw labels -> MEGC 2019 three classes; "others" is dropped (None).
RAW_TO_MEGC3: dict[str, str | None] = {
    "anger": "negative",
    "angry": "negative",
    "contempt": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sadness": "negative",
    "sad": "negative",
    "repression": "negative",
    "negative": "negative",
    "happiness": "positive",
    "happy": "positive",
    "positive": "positive",
    "surprise": "surprise",
    "others": None,
    "other": None,
    "neutral": None,
}

SEVEN_TO_MEGC3: dict[str, str | None] = {
    "Neutral": None,
    "Happy": "positive",
    "Surprise": "surprise",
    "Angry": "negative",
    "Fear": "negative",
    "Disgust": "negative",
    "Sad": "negative",
}


def normalize_raw(label: str) -> str:
    """Lower-case and strip a dataset's label cell ("Happiness " -> "happiness")."""
    return str(label).strip().lower()


def is_known_raw(label: str) -> bool:
    """True when `label` is one of the raw labels the datasets use."""
    return normalize_raw(label) in RAW_TO_SEVEN or normalize_raw(label) in RAW_TO_MEGC3


def to_seven(label: str, extra: dict[str, str | None] | None = None) -> str | None:
    """Map a raw dataset label to one of the seven classes, or None (excluded).

    `extra` overrides the default map (e.g. {"repression": "Disgust"}).
    Raises ValueError for a label no map knows, naming it.
    """
    key = normalize_raw(label)
    table = {**RAW_TO_SEVEN, **{k.lower(): v for k, v in (extra or {}).items()}}
    if key not in table:
        raise ValueError(
            f"Unknown emotion label {label!r}. Known labels: {sorted(table)}. "
            "Pass a label map to map it, or fix the annotation."
        )
    return table[key]


def to_megc3(label: str) -> str | None:
    """Map a raw dataset label to the MEGC 3-class scheme, or None (dropped)."""
    key = normalize_raw(label)
    if key not in RAW_TO_MEGC3:
        raise ValueError(
            f"Unknown emotion label {label!r} for the MEGC 3-class view. "
            f"Known labels: {sorted(RAW_TO_MEGC3)}."
        )
    return RAW_TO_MEGC3[key]


def class_index(name: str) -> int:
    """Index of a seven-class name; ValueError naming the allowed names."""
    try:
        return CLASS_INDEX[name]
    except KeyError:
        raise ValueError(f"Unknown class {name!r}. Allowed: {list(CLASSES)}") from None
