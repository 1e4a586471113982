"""What a loader returns: the samples, the quirks, and the counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sample import Sample
from mer_tf.labels import CLASSES, MEGC3


@dataclass
class DatasetReport:
    """The samples of one dataset (or of a composite) and everything odd about them.

    Args:
        name: "casme2", "samm", "smic", "synthetic" or "composite".
        roots: the folders read.
        samples: every usable clip, in a stable order. Samples whose label has
            no seven-class counterpart keep ``label7=None`` (see `labelled`).
        quirks: every quirk found, each with what was done about it.
        notes: facts the loader established (e.g. how label codes were read).

    Example:
        >>> report = load_dataset("datasets/synthetic")
        >>> train = report.labelled("seven")
        >>> print(report.summary())
    """

    name: str
    roots: tuple[Path, ...]
    samples: list[Sample] = field(default_factory=list)
    quirks: list[Quirk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def labelled(self, scheme: str = "seven") -> list[Sample]:
        """The samples that have a label in `scheme` ("seven" or "megc3")."""
        if scheme not in ("seven", "megc3"):
            raise ValueError(f"`scheme` must be 'seven' or 'megc3'. Received: scheme={scheme!r}")
        attr = "label7" if scheme == "seven" else "label3"
        return [s for s in self.samples if getattr(s, attr) is not None]

    @property
    def datasets(self) -> list[str]:
        return sorted({s.dataset for s in self.samples} | {q.dataset for q in self.quirks})

    def counts(self) -> dict[str, dict]:
        """Per dataset: samples, subjects, seven-class and 3-class counts.

        Classes with no sample are listed with 0; "excluded" counts samples
        without a label in that scheme.
        """
        out: dict[str, dict] = {}
        for name in self.datasets:
            part = [s for s in self.samples if s.dataset == name]
            if not part and name == self.name and len(self.datasets) > 1:
                continue  # quirks of the whole release, not of a part
            seven = Counter(s.label7 for s in part)
            megc = Counter(s.label3 for s in part)
            out[name] = {
                "samples": len(part),
                "subjects": len({s.subject for s in part}),
                "seven": {c: seven.get(c, 0) for c in CLASSES} | {"excluded": seven.get(None, 0)},
                "megc3": {c: megc.get(c, 0) for c in MEGC3} | {"excluded": megc.get(None, 0)},
                "raw": dict(sorted(Counter(s.raw_label for s in part).items())),
                "quirks": sum(q.dataset == name for q in self.quirks),
            }
        return out

    def summary(self) -> str:
        """A plain-text table of the counts followed by every quirk."""
        lines = [f"{self.name}: {len(self.samples)} samples, "
                 f"{len({(s.dataset, s.subject) for s in self.samples})} subjects, "
                 f"{len(self.quirks)} quirks  ({', '.join(str(r) for r in self.roots)})"]
        lines.extend(f"  {note}" for note in self.notes)
        for name, c in self.counts().items():
            lines.append(f"\n== {name}: {c['samples']} samples, {c['subjects']} subjects")
            lines.append("  raw labels: " + ", ".join(f"{k} {v}" for k, v in c["raw"].items()))
            lines.append("  seven-class: " + ", ".join(f"{k} {v}" for k, v in c["seven"].items()))
            lines.append("  MEGC 3-class: " + ", ".join(f"{k} {v}" for k, v in c["megc3"].items()))
        if self.quirks:
            lines.append(f"\nquirks ({len(self.quirks)}):")
            lines.extend(f"  {q}" for q in self.quirks)
        else:
            lines.append("\nno quirks")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready: counts and quirks (samples are summarized by count)."""
        return {
            "name": self.name,
            "roots": [str(r) for r in self.roots],
            "counts": self.counts(),
            "quirks": [q.to_dict() for q in self.quirks],
            "notes": list(self.notes),
        }

    def extend(self, other: "DatasetReport") -> None:
        """Append another report's samples and quirks (used by the composite)."""
        self.samples.extend(other.samples)
        self.quirks.extend(other.quirks)
        self.notes.extend(other.notes)
        self.roots = tuple(self.roots) + tuple(other.roots)
