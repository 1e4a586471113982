"""One micro-expression sample, as every loader yields it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """A clip of one subject with its annotation.

    `onset`, `apex`, `offset` are 0-based indices into `frames` (which are in
    frame order); `frame_numbers` keeps the dataset's own frame numbers.
    `label7` is one of `mer_tf.labels.CLASSES` or None (no seven-class
    counterpart); `label3` is one of `mer_tf.labels.MEGC3` or None.
    `group` names the source a subject derives from (synthetic subjects made
    from the same photograph share it; for real data it equals `subject`).
    `quirks` lists what was odd about this sample and how it was handled.
    `flow` is a precomputed onset -> apex flow image shipped with the data
    (u, v, strain; the MEGC 2019 release), or None. `neutral` says where
    ECRL's neutral face comes from: "onset" (the clip's onset frame) or
    "subject_mean" (the subject's mean aligned landmarks, for data without
    onset frames).
    """

    dataset: str
    subject: str
    sample_id: str
    frames: tuple[Path, ...]
    onset: int
    apex: int
    offset: int
    raw_label: str
    label7: str | None
    label3: str | None
    action_units: str = ""
    frame_numbers: tuple[int, ...] = ()
    group: str = ""
    landmarks: Path | None = None
    quirks: tuple[str, ...] = field(default_factory=tuple)
    flow: Path | None = None
    neutral: str = "onset"

    @property
    def key(self) -> str:
        """A unique id across datasets: dataset/subject/sample."""
        return f"{self.dataset}/{self.subject}/{self.sample_id}"

    @property
    def apex_frame(self) -> Path:
        return self.frames[self.apex]

    @property
    def onset_frame(self) -> Path:
        return self.frames[self.onset]
