"""Turning one annotated clip into a Sample, handling and reporting its quirks.

Shared by the loaders: the onset/apex/offset cells of a coding sheet (or the
clip's bounds for SMIC) become 0-based indices into the frames present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mer_tf import labels
from mer_tf.datasets.frames import is_readable
from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sample import Sample
from mer_tf.datasets.sheets import as_int, is_missing


@dataclass
class ClipSource:
    """Where a clip comes from, for quirks and errors."""

    dataset: str
    subject: str
    sample_id: str
    folder: Path
    sheet: Path | None = None
    row: int | None = None
    group: str = ""

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.sample_id}"


def map_labels(raw, source: ClipSource, label_map: dict | None, column: str = "Estimated Emotion"):
    """(label7, label3) for a raw label; ValueError naming the file, row and column if unknown."""
    text = labels.normalize_raw(raw) if not is_missing(raw) else ""
    try:
        label7 = labels.to_seven(text, extra=label_map)
    except ValueError:
        where = f"coding sheet {source.sheet}, row {source.row}, column {column!r}" if source.sheet else str(source.folder)
        known = sorted(set(labels.RAW_TO_SEVEN) | set(label_map or {}))
        raise ValueError(
            f"Unknown emotion label {raw!r} in {where} (sample {source.key}). Known labels: {known}. "
            'Fix the cell, or pass label_map={"' + text + '": "<one of ' + "/".join(labels.CLASSES) + ' or None>"}.'
        ) from None
    if text in labels.RAW_TO_MEGC3:
        label3 = labels.to_megc3(text)
    else:  # a label only the caller's label_map knows: take the 3-class view of its seven-class label
        label3 = labels.SEVEN_TO_MEGC3.get(label7) if label7 else None
    return label7, label3


def _nearest(numbers: list[int], target: int) -> int:
    return min(range(len(numbers)), key=lambda i: (abs(numbers[i] - target), i))


def build_clip(source: ClipSource, frames: list[tuple[int, Path]], onset, apex, offset, raw_label,
               label_map: dict | None, quirks: list[Quirk], action_units: str = "", landmarks: Path | None = None,
               apex_annotated: bool = True, verify: bool = True) -> Sample | None:
    """A Sample from a clip's frames and its annotation cells, or None (reported) if unusable.

    Args:
        source: dataset, subject, sample id, folder, sheet and row.
        frames: (frame number, path) in frame order.
        onset, apex, offset: the sheet's cells (frame numbers, "/" or blank allowed).
        raw_label: the sheet's emotion cell.
        label_map: raw label -> seven-class overrides.
        quirks: the report's list; quirks are appended to it.
        apex_annotated: False for datasets without apex (SMIC): the middle is the rule, flagged per sample only.
        verify: decode every frame (at 1/8 scale for JPEG) and drop unreadable ones, reported.
    """
    notes: list[str] = []

    def flag(what: str, handled: str, report: bool = True) -> None:
        notes.append(f"{what}; {handled}")
        if report:
            quirks.append(Quirk(source.dataset, source.key, source.row, what, handled))

    if not frames:
        flag(f"empty clip: no frame files in {source.folder}", "skipped (counted here)")
        return None
    label7, label3 = map_labels(raw_label, source, label_map)
    readable = []
    for number, path in frames:
        if not verify or is_readable(path):
            readable.append((number, path))
        else:
            flag(f"unreadable image {path}", "frame dropped")
    if not readable:
        flag(f"no readable frame in {source.folder}", "skipped (counted here)")
        return None
    numbers = [n for n, _ in readable]

    first, last = as_int(onset), as_int(offset)
    if first is None:
        flag(f"onset missing ({onset!r})", f"first frame {numbers[0]} used")
        first = numbers[0]
    if last is None:
        flag(f"offset missing ({offset!r})", f"last frame {numbers[-1]} used")
        last = numbers[-1]
    if last < first:
        flag(f"offset {last} before onset {first}", "swapped")
        first, last = last, first
    peak = as_int(apex)
    middle = (first + last) // 2
    if peak is None:
        if apex_annotated:
            flag(f"apex missing ({apex!r})", f"estimated as the middle of onset..offset: {middle}")
        else:
            flag("no apex annotation", f"middle frame {middle} used as apex", report=False)
        peak = middle
    elif not first <= peak <= last:
        flag(f"apex {peak} outside onset..offset {first}..{last}", f"replaced by the middle: {middle}")
        peak = middle

    present = set(numbers)
    inside = [n for n in numbers if first <= n <= last]
    missing = [n for n in range(first, last + 1) if n not in present]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        flag(f"{len(missing)} of {last - first + 1} frames missing in onset..offset ({shown})",
             f"kept the {len(inside)} frames present")
    indices = []
    for name, target in (("onset", first), ("apex", peak), ("offset", last)):
        i = _nearest(numbers, target)
        if numbers[i] != target:
            flag(f"{name} frame {target} not in the clip", f"nearest frame {numbers[i]} used")
        indices.append(i)
    if indices[0] == indices[2] and len(numbers) > 1:
        flag("onset and offset fall on the same frame", "kept; the clip has no motion span")
    return Sample(
        dataset=source.dataset,
        subject=source.subject,
        sample_id=source.sample_id,
        frames=tuple(p for _, p in readable),
        onset=indices[0],
        apex=indices[1],
        offset=indices[2],
        raw_label=labels.normalize_raw(raw_label) if not is_missing(raw_label) else "",
        label7=label7,
        label3=label3,
        action_units="" if is_missing(action_units) else str(action_units).strip(),
        frame_numbers=tuple(numbers),
        group=source.group or source.subject,
        landmarks=landmarks,
        quirks=tuple(notes),
    )
