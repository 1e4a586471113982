"""CASME II, read as the Chinese Academy of Sciences ships it (and the synthetic set).

Layout (../../datasets/casme2.md):
    CASME2_RAW_selected/subXX/EPxx_yy[f]/img{N}.jpg      raw, 640x480, 200 fps
    Cropped/subXX/EPxx_yy/reg_img{N}.jpg                 cropped
    CASME2-coding-20140508.xlsx (or -20190701, -updated) coding sheet:
        Subject | Filename | (blank) | OnsetFrame | ApexFrame | OffsetFrame | (blank) | Action Units | Estimated Emotion
N is the absolute frame number, not zero-padded; OnsetFrame.. are such numbers.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from mer_tf.datasets.clips import ClipSource, build_clip
from mer_tf.datasets.dataset_report import DatasetReport
from mer_tf.datasets.frames import list_frames
from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sheets import as_int, find_files, is_missing, read_sheet

log = logging.getLogger(__name__)

RAW_TREE, CROPPED_TREE = "CASME2_RAW_selected", "Cropped"
SHEET_PATTERNS = ("CASME2*coding*.xlsx", "CASME2*.xlsx", "CASME*.xlsx")
LAYOUT = (
    "a folder holding CASME2_RAW_selected/subXX/EPxx_yy/img{N}.jpg (or Cropped/subXX/EPxx_yy/reg_img{N}.jpg) "
    "and the coding sheet CASME2-coding-*.xlsx with columns Subject, Filename, OnsetFrame, ApexFrame, "
    "OffsetFrame, Action Units, Estimated Emotion"
)
REQUIRED = {
    "subject": (),
    "filename": (),
    "onset": ("OnsetFrame", "Onset Frame", "Onset"),
    "apex": ("ApexFrame", "Apex Frame", "Apex", "ApexFrame1"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion"),
}
OPTIONAL = {"action_units": ("Action Units", "AUs", "Action Unit")}
LANDMARKS_FILE = "landmarks.npy"
SYNTHETIC_MANIFEST = "synthetic.json"


def casme2_root(path: Path) -> Path:
    """The folder holding the trees and the sheet, given it or one of its trees."""
    path = Path(path)
    if path.name in (RAW_TREE, CROPPED_TREE) and path.is_dir():
        return path.parent
    return path


def _tree(root: Path, variant: str) -> Path:
    names = {"raw": (RAW_TREE,), "cropped": (CROPPED_TREE, "CASME2_Cropped"), "auto": (RAW_TREE, CROPPED_TREE)}
    if variant not in names:
        raise ValueError(f"`variant` must be 'raw', 'cropped' or 'auto'. Received: variant={variant!r}")
    for name in names[variant]:
        tree = root / name
        # zip archives often extract to CASME2_RAW_selected/CASME2_RAW_selected/
        if (tree / name).is_dir() and not any(tree.glob("sub*")):
            tree = tree / name
        if tree.is_dir():
            return tree
    raise FileNotFoundError(f"No CASME II frame tree ({' or '.join(names[variant])}) in {root}. Expected {LAYOUT}.")


def subject_id(value) -> str | None:
    """1, "1", "01", "sub01", 1.0 -> "sub01"."""
    number = as_int(value)
    if number is None:
        match = re.fullmatch(r"(?i)sub[_ ]?(\d+)", str(value).strip())
        number = int(match.group(1)) if match else None
    return None if number is None else f"sub{number:02d}"


def _clip_folder(subject_dir: Path, filename: str, claimed: set[str]) -> tuple[Path | None, str]:
    """The clip folder for a sheet Filename; the second item says how it matched (or why none did).

    Exact names win: a folder named exactly as another sheet row of the same
    subject is that row's clip, never the fallback for this one. (sub10 has
    both EP11_01 and EP11_01f, sub17 both EP05_03 and EP05_03f; a tree whose
    folders lost the trailing "f" must not pair EP11_01f with EP11_01's clip.)

    Args:
        claimed: the lower-cased Filenames of all sheet rows of this subject.
    """
    exact = subject_dir / filename
    if exact.is_dir():
        return exact, ""
    folders = {p.name.lower(): p for p in subject_dir.iterdir() if p.is_dir()} if subject_dir.is_dir() else {}
    key = filename.lower()
    if key in folders:
        return folders[key], f"folder {folders[key].name!r} matched sheet Filename {filename!r} (case differs)"
    taken = []
    for candidate, how in ((key.rstrip("f"), "without the trailing 'f'"), (key + "f", "with a trailing 'f'")):
        if candidate == key or candidate not in folders:
            continue
        if candidate in claimed:
            taken.append(folders[candidate].name)
            continue
        return folders[candidate], f"folder {folders[candidate].name!r} matched sheet Filename {filename!r} ({how})"
    return None, (f"; folder {taken[0]!r} is the clip of sheet row {taken[0]!r}, not this one" if taken else "")


def load_casme2(path: Path, label_map: dict | None = None, variant: str = "auto", dataset: str = "casme2",
                verify: bool = True, progress: bool = False) -> DatasetReport:
    """Read a CASME II tree and its coding sheet.

    Args:
        path: the folder holding CASME2_RAW_selected and/or Cropped and the coding sheet.
        label_map: raw label -> seven-class overrides, e.g. {"repression": "Disgust"}.
        variant: "raw", "cropped" or "auto" (raw when present).
        dataset: the name samples carry ("synthetic" for the generated set).
        verify: decode every frame and drop unreadable ones (reported).
        progress: show a tqdm bar (stderr) over the sheet's rows.

    Raises:
        FileNotFoundError / ValueError naming the expected layout, the sheet,
        row and column when the tree or the sheet cannot be read.
    """
    root = casme2_root(path)
    if not root.is_dir():
        raise FileNotFoundError(f"CASME II folder not found: {root}. Expected {LAYOUT}.")
    tree = _tree(root, variant)
    report = DatasetReport(name=dataset, roots=(root,))
    sheets = find_files(root, SHEET_PATTERNS, depth=1)
    # releases ship other workbooks too (e.g. objective classes): prefer the coding sheets
    sheets = [p for p in sheets if "coding" in p.name.lower()] or sheets
    if not sheets:
        raise FileNotFoundError(f"No CASME II coding sheet (CASME2-coding-*.xlsx) in {root}. Expected {LAYOUT}.")
    sheet = sheets[-1]  # names sort by release date: 20140508 < 20190701 < updated
    if len(sheets) > 1:
        report.quirks.append(Quirk(dataset, str(root), None, f"{len(sheets)} coding sheets: {[p.name for p in sheets]}",
                                   f"used the newest, {sheet.name}"))
    table, _ = read_sheet(sheet, REQUIRED, OPTIONAL, layout=LAYOUT)
    groups = _synthetic_groups(root) if dataset == "synthetic" else {}

    seen: set[tuple[str, str]] = set()
    claimed: dict[str, set[str]] = {}  # subject -> every Filename the sheet gives it (exact names win)
    for subject, filename in zip(table["subject"], table["filename"]):
        if subject_id(subject) is not None and not is_missing(filename):
            claimed.setdefault(subject_id(subject), set()).add(str(filename).strip().lower())
    used: set[Path] = set()
    odd_subjects: list[str] = []
    rows = tqdm(table.itertuples(index=False), total=len(table), desc=dataset, unit="clip", disable=not progress)
    for row in rows:
        subject = subject_id(row.subject)
        filename = "" if is_missing(row.filename) else str(row.filename).strip()
        where = f"{sheet.name} row {row.excel_row}"
        if subject is None or not filename:
            report.quirks.append(Quirk(dataset, where, row.excel_row,
                                       f"row without a usable Subject ({row.subject!r}) or Filename ({row.filename!r})",
                                       "skipped (counted here)"))
            continue
        if as_int(row.subject) is None:
            odd_subjects.append(str(row.subject))
        if (subject, filename.lower()) in seen:
            report.quirks.append(Quirk(dataset, f"{dataset}/{subject}/{filename}", row.excel_row,
                                       "duplicate row for this clip", "skipped; the first row is used"))
            continue
        seen.add((subject, filename.lower()))
        folder, how = _clip_folder(tree / subject, filename, claimed.get(subject, set()))
        source = ClipSource(dataset, subject, filename, folder or tree / subject / filename, sheet, row.excel_row,
                            group=groups.get(subject, subject))
        if folder is None:
            report.quirks.append(Quirk(dataset, source.key, row.excel_row,
                                       f"no clip folder {tree.name}/{subject}/{filename}{how}", "skipped (counted here)"))
            continue
        used.add(folder)
        if how:
            report.quirks.append(Quirk(dataset, source.key, row.excel_row, how, "used that folder"))
        frames, unnumbered = list_frames(folder)
        if unnumbered:
            report.quirks.append(Quirk(dataset, source.key, row.excel_row,
                                       f"{len(unnumbered)} image files without a frame number, e.g. {unnumbered[0].name}",
                                       "ignored"))
        landmarks = folder / LANDMARKS_FILE
        sample = build_clip(source, frames, row.onset, row.apex, row.offset, row.emotion, label_map, report.quirks,
                            action_units=row.action_units, landmarks=landmarks if landmarks.is_file() else None,
                            verify=verify)
        if sample is not None and sample.landmarks is not None:
            sample = _check_landmarks(sample, report)
        if sample is not None:
            report.samples.append(sample)

    if dataset != "synthetic" and not odd_subjects and len(table):
        report.quirks.append(Quirk(dataset, sheet.name, None, "Subject column holds integers (1) where folders say sub01",
                                   "ids normalized to the folder form sub01"))
    if odd_subjects:
        report.quirks.append(Quirk(dataset, sheet.name, None,
                                   f"Subject cells not plain integers (e.g. {odd_subjects[0]!r}, {len(odd_subjects)} rows)",
                                   "read as subXX"))
    _report_unannotated(tree, used, dataset, report)
    log.info("%s: %d samples from %s", dataset, len(report.samples), root)
    return report


def _check_landmarks(sample, report: DatasetReport):
    """Ground-truth landmarks must have one (68, 2) row per frame kept; otherwise they are dropped (reported)."""
    import numpy as np

    try:
        shape = np.load(sample.landmarks, mmap_mode="r").shape
    except (OSError, ValueError) as err:
        shape, problem = None, f"unreadable landmarks file {sample.landmarks}: {err}"
    else:
        problem = "" if shape == (len(sample.frames), 68, 2) else (
            f"landmarks file {sample.landmarks.name} has shape {shape}, expected ({len(sample.frames)}, 68, 2)")
    if not problem:
        return sample
    report.quirks.append(Quirk(sample.dataset, sample.key, None, problem, "landmarks not used for this sample"))
    return replace(sample, landmarks=None)


def _report_unannotated(tree: Path, used: set[Path], dataset: str, report: DatasetReport) -> None:
    """Clip folders no sheet row was paired with: counted, not read."""
    for subject_dir in sorted(p for p in tree.iterdir() if p.is_dir()):
        subject = subject_id(subject_dir.name)
        if subject is None:
            report.quirks.append(Quirk(dataset, str(subject_dir), None, "folder is not a subXX subject folder", "ignored"))
            continue
        for clip in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            if clip not in used:
                report.quirks.append(Quirk(dataset, str(clip), None, "clip folder not in the coding sheet",
                                           "ignored (no annotation)"))


def _synthetic_groups(root: Path) -> dict[str, str]:
    """subject -> source photograph, from the generator's manifest."""
    manifest = root / SYNTHETIC_MANIFEST
    if not manifest.is_file():
        return {}
    data = json.loads(manifest.read_text())
    return {s: info.get("group", s) for s, info in data.get("subjects", {}).items()}
