"""SAMM, read as Manchester Metropolitan University ships it.

Layout (../../datasets/samm.md):
    SAMM/006/006_1_2/006_05562.jpg     {subject:03d}/{subject:03d}_{inducement}_{n}/{subject:03d}_{frame:05d}.jpg
    SAMM_Micro_FACS_Codes_v2.xlsx      ~13 preamble rows, header on Excel row 14:
        Subject | Filename | Inducement Code | Onset Frame | Apex Frame | Offset Frame | Duration | Type |
        Action Units | Notes | Estimated Emotion [| Objective Classes]
Subject is an integer (6) where the folders say 006.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from tqdm import tqdm

from mer_tf.datasets.clips import ClipSource, build_clip
from mer_tf.datasets.dataset_report import DatasetReport
from mer_tf.datasets.frames import list_frames
from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sheets import as_int, find_files, is_missing, read_sheet

log = logging.getLogger(__name__)

SHEET_PATTERNS = ("SAMM*Micro*.xlsx", "SAMM*.xlsx")
LAYOUT = (
    "a folder holding SAMM/{subject:03d}/{subject:03d}_{inducement}_{n}/{subject:03d}_{frame:05d}.jpg and the sheet "
    "SAMM_Micro_FACS_Codes_v2.xlsx (header row ~14) with columns Subject, Filename, Onset Frame, Apex Frame, "
    "Offset Frame, Action Units, Estimated Emotion"
)
REQUIRED = {
    "subject": (),
    "filename": (),
    "onset": ("Onset Frame", "OnsetFrame", "Onset"),
    "apex": ("Apex Frame", "ApexFrame", "Apex"),
    "offset": ("Offset Frame", "OffsetFrame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion"),
}
OPTIONAL = {"action_units": ("Action Units", "AUs"), "type": ("Type",), "objective": ("Objective Classes",)}
_SUBJECT_DIR = re.compile(r"\d{3}")


def subject_id(value) -> str | None:
    """6, "6", "006", "sub006" -> "006"."""
    number = as_int(value)
    if number is None:
        match = re.fullmatch(r"(?i)(?:sub|s)?[_ ]?(\d+)", str(value).strip())
        number = int(match.group(1)) if match else None
    return None if number is None else f"{number:03d}"


def frames_root(root: Path) -> Path | None:
    """The folder whose children are the 3-digit subject folders (root, root/SAMM, or one level below)."""
    candidates = [root, root / "SAMM", *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
    for folder in candidates:
        if folder.is_dir() and any(p.is_dir() and _SUBJECT_DIR.fullmatch(p.name) for p in folder.iterdir()):
            return folder
    return None


def load_samm(path: Path, label_map: dict | None = None, verify: bool = True, progress: bool = False) -> DatasetReport:
    """Read a SAMM tree and its v2 FACS coding sheet.

    Args:
        path: the folder holding SAMM/ (or the subject folders) and the sheet.
        label_map: raw label -> seven-class overrides, e.g. {"contempt": "Disgust"}.
        verify: decode every frame and drop unreadable ones (reported).
        progress: show a tqdm bar (stderr) over the sheet's rows.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"SAMM folder not found: {root}. Expected {LAYOUT}.")
    tree = frames_root(root)
    if tree is None:
        raise FileNotFoundError(f"No SAMM subject folders (006, 007, ...) in {root} or {root / 'SAMM'}. Expected {LAYOUT}.")
    sheets = find_files(root, SHEET_PATTERNS, depth=1)
    if not sheets:
        raise FileNotFoundError(f"No SAMM coding sheet (SAMM_Micro_FACS_Codes_v2.xlsx) in {root}. Expected {LAYOUT}.")
    sheet = sheets[-1]
    report = DatasetReport(name="samm", roots=(root,))
    if len(sheets) > 1:
        report.quirks.append(Quirk("samm", str(root), None, f"{len(sheets)} coding sheets: {[p.name for p in sheets]}",
                                   f"used {sheet.name}"))
    table, header_row = read_sheet(sheet, REQUIRED, OPTIONAL, layout=LAYOUT)
    log.info("SAMM sheet %s: header on Excel row %d", sheet, header_row)

    seen: set[str] = set()
    for row in tqdm(table.itertuples(index=False), total=len(table), desc="samm", unit="clip", disable=not progress):
        subject = subject_id(row.subject)
        filename = "" if is_missing(row.filename) else str(row.filename).strip()
        if subject is None or not filename:
            report.quirks.append(Quirk("samm", f"{sheet.name} row {row.excel_row}", row.excel_row,
                                       f"row without a usable Subject ({row.subject!r}) or Filename ({row.filename!r})",
                                       "skipped (counted here)"))
            continue
        source = ClipSource("samm", subject, filename, tree / subject / filename, sheet, row.excel_row)
        if filename in seen:
            report.quirks.append(Quirk("samm", source.key, row.excel_row, "duplicate row for this clip",
                                       "skipped; the first row is used"))
            continue
        seen.add(filename)
        if not filename.startswith(subject):
            report.quirks.append(Quirk("samm", source.key, row.excel_row,
                                       f"Filename {filename!r} does not start with subject {subject}", "kept as given"))
        if not source.folder.is_dir():
            report.quirks.append(Quirk("samm", source.key, row.excel_row,
                                       f"no clip folder {tree.name}/{subject}/{filename}", "skipped (counted here)"))
            continue
        aus = "" if is_missing(row.action_units) else str(row.action_units)
        if re.search(r"\bor\b", aus, flags=re.I):
            report.quirks.append(Quirk("samm", source.key, row.excel_row, f"ambiguous Action Units {aus!r} ('or')",
                                       "kept verbatim"))
        frames, unnumbered = list_frames(source.folder)
        if unnumbered:
            report.quirks.append(Quirk("samm", source.key, row.excel_row,
                                       f"{len(unnumbered)} image files without a frame number", "ignored"))
        sample = build_clip(source, frames, row.onset, row.apex, row.offset, row.emotion, label_map, report.quirks,
                            action_units=aus, verify=verify)
        if sample is not None:
            report.samples.append(sample)

    if any(as_int(v) is not None for v in table["subject"]):
        report.quirks.append(Quirk("samm", sheet.name, None, "Subject column holds integers (6) where folders say 006",
                                   "ids normalized to the folder form 006"))
    for subject_dir in sorted(p for p in tree.iterdir() if p.is_dir()):
        for clip in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            if clip.name not in seen:
                report.quirks.append(Quirk("samm", str(clip), None, "clip folder not in the coding sheet",
                                           "ignored (no annotation)"))
    return report
