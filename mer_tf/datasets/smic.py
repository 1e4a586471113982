"""SMIC (HS, VIS, NIR), read as the University of Oulu ships it.

Layout (../../datasets/smic.md):
    HS/s1/micro/negative/s1_ne_01/image063913.bmp      (cropped releases: reg_image*.bmp)
    VIS/s1/micro/positive/s1_po_01/...   NIR/s1/micro/surprise/s1_sur_01/...
Labels come from the folder names (po, ne, sur); there is no apex
annotation, so the middle frame is the apex (the common practice). Folders
say s1 and s1_ne_01; MEGC lists say s01 and s01_ne_01: ids are normalized to
the MEGC form.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from mer_tf.datasets.clips import ClipSource, build_clip
from mer_tf.datasets.dataset_report import DatasetReport
from mer_tf.datasets.frames import list_frames
from mer_tf.datasets.quirk import Quirk

MODALITIES = ("HS", "VIS", "NIR")
CLASS_FOLDERS = {"positive": "positive", "negative": "negative", "surprise": "surprise"}
CLIP_CODES = {"po": "positive", "ne": "negative", "sur": "surprise"}
LAYOUT = "a folder holding HS/ (and/or VIS/, NIR/) with s1/micro/{positive,negative,surprise}/s1_ne_01/<frames>"
# SMIC has three classes only: no seven-class label unless the caller maps one.
SEVEN_DEFAULTS = {"positive": None, "negative": None}
_SUBJECT = re.compile(r"(?i)s(\d+)")
_CLIP = re.compile(r"(?i)s(\d+)_([a-z]+)_(\d+)")


def modality_dirs(root: Path) -> dict[str, Path]:
    """{"HS": path, ...} for the modality folders in root or one level below (SMIC_all_raw/HS)."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for child in (p for p in folder.iterdir() if p.is_dir()):
            name = child.name.upper()
            if name in MODALITIES and name not in found and any(_SUBJECT.fullmatch(p.name) for p in child.iterdir()):
                found[name] = child
    return found


def load_smic(path: Path, label_map: dict | None = None, modalities: tuple[str, ...] = MODALITIES,
              verify: bool = True, progress: bool = False) -> DatasetReport:
    """Read the SMIC modality trees found under `path`.

    Args:
        path: the folder holding HS/, VIS/, NIR/ (or SMIC_all_raw/ holding them).
        label_map: raw label -> seven-class overrides (SMIC's "positive" and
            "negative" have no seven-class label by default; "surprise" does).
        modalities: which of HS, VIS, NIR to read; datasets are named smic-hs, smic-vis, smic-nir.
        verify: decode every frame and drop unreadable ones (reported).
        progress: show a tqdm bar (stderr) over the subjects.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"SMIC folder not found: {root}. Expected {LAYOUT}.")
    found = modality_dirs(root)
    wanted = [m.upper() for m in modalities]
    if not any(m in found for m in wanted):
        raise FileNotFoundError(f"No SMIC modality folder ({'/'.join(wanted)}) in {root}. Expected {LAYOUT}.")
    label_map = {**SEVEN_DEFAULTS, **(label_map or {})}
    report = DatasetReport(name="smic", roots=(root,))
    for modality in (m for m in wanted if m in found):
        _load_modality(found[modality], f"smic-{modality.lower()}", label_map, report, verify, progress)
    return report


def _load_modality(tree: Path, dataset: str, label_map: dict, report: DatasetReport, verify: bool,
                   progress: bool) -> None:
    short_ids = False
    subjects = sorted(tree.iterdir(), key=lambda p: (len(p.name), p.name))
    for subject_dir in tqdm(subjects, desc=dataset, unit="subject", disable=not progress):
        match = _SUBJECT.fullmatch(subject_dir.name)
        if not subject_dir.is_dir() or not match:
            report.quirks.append(Quirk(dataset, str(subject_dir), None, "not an sN subject folder", "ignored"))
            continue
        subject = f"s{int(match.group(1)):02d}"
        short_ids |= subject_dir.name != subject
        for kind in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            if kind.name.lower() != "micro":
                n = sum(1 for _ in kind.rglob("*") if _.is_dir())
                report.quirks.append(Quirk(dataset, str(kind), None, f"{kind.name!r} folder ({n} sub-folders)",
                                           "ignored: only micro/ holds micro-expressions"))
                continue
            for class_dir in sorted(p for p in kind.iterdir() if p.is_dir()):
                label = CLASS_FOLDERS.get(class_dir.name.lower())
                if label is None:
                    report.quirks.append(Quirk(dataset, str(class_dir), None, f"unknown class folder {class_dir.name!r}; "
                                               "expected positive, negative or surprise", "ignored (counted here)"))
                    continue
                for clip in sorted(p for p in class_dir.iterdir() if p.is_dir()):
                    _load_clip(clip, dataset, subject, label, label_map, report, verify)
    report.quirks.append(Quirk(dataset, str(tree), None, "no apex annotation (SMIC has none)",
                               "the middle frame of each clip is its apex"))
    if short_ids:
        report.quirks.append(Quirk(dataset, str(tree), None, "subject folders say s1 (MEGC lists say s01)",
                                   "ids normalized to s01 and s01_ne_01"))


def _load_clip(clip: Path, dataset: str, subject: str, label: str, label_map: dict, report: DatasetReport,
               verify: bool) -> None:
    match = _CLIP.fullmatch(clip.name)
    sample_id = f"{subject}_{match.group(2).lower()}_{match.group(3)}" if match else clip.name
    source = ClipSource(dataset, subject, sample_id, clip)
    if match is None:
        report.quirks.append(Quirk(dataset, source.key, None, f"clip folder name {clip.name!r} is not sN_xx_NN",
                                   "kept; label from the class folder"))
    elif CLIP_CODES.get(match.group(2).lower()) not in (None, label):
        report.quirks.append(Quirk(dataset, source.key, None,
                                   f"clip code {match.group(2)!r} disagrees with class folder {label!r}",
                                   "class folder used"))
    frames, unnumbered = list_frames(clip)
    if unnumbered:
        report.quirks.append(Quirk(dataset, source.key, None, f"{len(unnumbered)} image files without a frame number",
                                   "ignored"))
    first = frames[0][0] if frames else None
    last = frames[-1][0] if frames else None
    sample = build_clip(source, frames, first, None, last, label, label_map, report.quirks, apex_annotated=False,
                        verify=verify)
    if sample is not None:
        # SMIC's apex is the middle *frame* of the clip, not the middle frame number.
        middle = (sample.onset + sample.offset) // 2
        report.samples.append(replace(sample, apex=middle))
