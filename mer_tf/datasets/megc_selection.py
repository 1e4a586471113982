"""The MEGC 2019 selection: which raw CASME II / SAMM / SMIC-HS clips form the composite, with which label.

The composite is not "every clip with a 3-class label": MEGC 2019 also leaves
out CASME II's sadness and fear clips and the clips whose sheet has no usable
apex. No rule reproduces its 442 samples from the sheets alone, so the
official id list decides; it ships with the package (megc2019_ids.csv, ids
and labels only, see its header for the source).

Ids are matched in one normal form per dataset, because the list and the
trees spell them differently (DATASETS.md): CASME II ``sub01``/``EP02_01f``
against sheet Subject 1; SAMM ``006``/``006_1_2``; SMIC ``s01``/``s01_ne_01``
in the list against ``s1``/``s1_ne_01`` folders.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sample import Sample
from mer_tf.labels import MEGC3

PACKAGED_LIST = "megc2019_ids.csv"
LIST_COLUMNS = ("dataset", "sub", "filename_o", "label")
# The list's dataset column -> the composite's dataset names (SMIC-HS is the only SMIC part).
PARTS = {"casme2": "casme2", "casmeii": "casme2", "samm": "samm", "smic": "smic-hs", "smichs": "smic-hs"}
_SMIC_CLIP = re.compile(r"(?i)s?(\d+)_([a-z]+)_(\d+)")


def _digits(value: str) -> int | None:
    match = re.search(r"(\d+)", str(value))
    return int(match.group(1)) if match else None


def sample_key(dataset: str, subject: str, clip: str) -> tuple[str, int | None, str]:
    """One normal form for an id, whichever spelling it comes in (list, sheet or folder)."""
    clip = str(clip).strip()
    if dataset == "smic-hs":
        match = _SMIC_CLIP.fullmatch(clip)
        clip = f"{match.group(2).lower()}_{int(match.group(3))}" if match else clip.lower()
    return dataset, _digits(subject), clip.lower()


def _label(value: str) -> str | None:
    """Label codes 0/1/2 (negative/positive/surprise, as the official list codes them) or the words."""
    text = str(value).strip().lower()
    if text.isdigit() and int(text) < len(MEGC3):
        return MEGC3[int(text)]
    return text if text in MEGC3 else None


@dataclass(frozen=True)
class MEGCSelection:
    """An id list that picks the composite's samples and fixes their 3-class labels.

    Args:
        source: where the list was read from (quoted in quirks).
        labels: normal-form key (see `sample_key`) -> 3-class label.
        names: normal-form key -> the list's own spelling, "sub01/EP02_01f" (for quirks).

    Example:
        >>> selection = MEGCSelection.official()          # the 442 MEGC 2019 ids
        >>> kept, quirks = selection.select(report.samples, "casme2")
    """

    source: str
    labels: dict[tuple[str, int | None, str], str] = field(repr=False)
    names: dict[tuple[str, int | None, str], str] = field(repr=False, default_factory=dict)

    @classmethod
    def official(cls) -> "MEGCSelection":
        """The MEGC 2019 list shipped with mer-tf (442 ids, 68 subjects)."""
        text = resources.files("mer_tf.datasets").joinpath(PACKAGED_LIST).read_text(encoding="utf-8")
        return cls.from_text(text, f"mer_tf/datasets/{PACKAGED_LIST}")

    @classmethod
    def from_csv(cls, path) -> "MEGCSelection":
        """A list in the official CSV's columns (dataset, sub, filename_o, label; others ignored)."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Selection list not found: {path}. Pass 'megc2019', 'all' or a CSV with columns "
                                    f"{', '.join(LIST_COLUMNS)}.")
        return cls.from_text(path.read_text(encoding="utf-8-sig"), str(path))

    @classmethod
    def from_text(cls, text: str, source: str) -> "MEGCSelection":
        lines = [line for line in io.StringIO(text) if not line.lstrip().startswith("#")]
        reader = csv.DictReader(lines)
        missing = [c for c in LIST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"Selection list {source}: missing column(s) {missing}. Found {reader.fieldnames}. "
                             f"Expected the official CSV's columns {', '.join(LIST_COLUMNS)}.")
        labels: dict = {}
        names: dict = {}
        for line, row in enumerate(reader, start=2):
            part = PARTS.get(re.sub(r"[^a-z0-9]", "", str(row["dataset"]).lower()))
            label = _label(row["label"])
            if part is None or label is None:
                bad = f"dataset {row['dataset']!r}" if part is None else f"label {row['label']!r}"
                raise ValueError(f"Selection list {source}, data row {line - 1}: unknown {bad}. Expected dataset "
                                 f"casme2, samm or smic and label 0/1/2 ({'/'.join(MEGC3)}).")
            key = sample_key(part, row["sub"], row["filename_o"])
            if key in labels:
                raise ValueError(f"Selection list {source}, data row {line - 1}: duplicate id "
                                 f"{row['sub']}/{row['filename_o']}. Remove the repeated row.")
            labels[key] = label
            names[key] = f"{row['sub']}/{row['filename_o']}"
        return cls(source, labels, names)

    def __len__(self) -> int:
        return len(self.labels)

    def parts(self) -> set[str]:
        return {key[0] for key in self.labels}

    def select(self, samples: list[Sample], dataset: str) -> tuple[list[Sample], list[Quirk]]:
        """The samples of one part that the list holds, relabelled by it, and the quirks of the selection.

        Reported: every sample dropped (with the reason its annotation
        suggests; "others" summarized in one line), every listed id with no
        usable sample (a missing clip), and every sheet label the list
        contradicts (the list's label is kept: it defines the composite).
        """
        wanted = {k: v for k, v in self.labels.items() if k[0] == dataset}
        quirks: list[Quirk] = []
        chosen: dict[int, tuple] = {}  # id(sample) -> its list key
        taken: set[tuple] = set()
        leftovers: list[Sample] = []
        for sample in samples:
            key = sample_key(dataset, sample.subject, sample.sample_id)
            if key in wanted and key not in taken:
                chosen[id(sample)] = key
                taken.add(key)
            else:
                leftovers.append(sample)
        if dataset == "casme2":  # sheets differ between releases in the trailing "f" of a Filename
            for sample in list(leftovers):
                key = sample_key(dataset, sample.subject, sample.sample_id)
                other = key[:2] + ((key[2][:-1] if key[2].endswith("f") else key[2] + "f"),)
                if other in wanted and other not in taken:
                    chosen[id(sample)] = other
                    taken.add(other)
                    leftovers.remove(sample)
                    quirks.append(Quirk(dataset, sample.key, None, f"sheet Filename {sample.sample_id!r} is "
                                        f"{self.names[other]!r} in the selection list (trailing 'f')", "matched; kept"))
        kept = []
        for sample in (s for s in samples if id(s) in chosen):
            label = wanted[chosen[id(sample)]]
            if sample.label3 != label:
                quirks.append(Quirk(dataset, sample.key, None, f"sheet label {sample.raw_label!r} "
                                    f"({sample.label3}) disagrees with the selection list's {label}",
                                    f"kept with the list's label {label}"))
                sample = replace(sample, label3=label)
            kept.append(sample)
        others = [s for s in leftovers if s.label3 is None]
        if others:
            raw = sorted({s.raw_label for s in others})
            quirks.append(Quirk(dataset, self.source, None, f"{len(others)} samples without a 3-class label "
                                f"({', '.join(raw)})", "dropped from the composite (MEGC 2019 drops 'others')"))
        for sample in (s for s in leftovers if s.label3 is not None):
            quirks.append(Quirk(dataset, sample.key, None, f"not in the selection list ({_reason(sample)})",
                                "dropped from the composite"))
        for key in (k for k in wanted if k not in taken):
            quirks.append(Quirk(dataset, f"{dataset}/{self.names[key]}", None,
                                f"missing clip: in the selection list ({wanted[key]}) but no usable sample was read",
                                "absent from the composite: its counts fall short of the list's"))
        return kept, quirks


def _reason(sample: Sample) -> str:
    """Why MEGC 2019 likely left a sample out, from what its loader noted."""
    reasons = [f"raw label {sample.raw_label!r}"]
    reasons += [note.split(";")[0] for note in sample.quirks if note.startswith(("apex missing", "apex "))]
    return "; ".join(reasons)
