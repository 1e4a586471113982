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
from mer_tf.datasets.frames import IMAGE_SUFFIXES, list_frames
from mer_tf.datasets.quirk import Quirk

MODALITIES = ("HS", "VIS", "NIR")
CLASS_FOLDERS = {"positive": "positive", "negative": "negative", "surprise": "surprise"}
CLIP_CODES = {"po": "positive", "ne": "negative", "sur": "surprise"}
LAYOUT = "a folder holding HS/ (and/or VIS/, NIR/) with s1/micro/{positive,negative,surprise}/s1_ne_01/<frames>"
# SMIC has three classes only: no seven-class label unless the caller maps one.
SEVEN_DEFAULTS = {"positive": None, "negative": None}
_SUBJECT = re.compile(r"(?i)s(\d+)")
_CLIP = re.compile(r"(?i)s(\d+)_([a-z]+)_(\d+)")


def trees(root: Path) -> dict[Path, dict[str, Path]]:
    """{tree folder: {"HS": path, ...}} for the folders (root, or one level below) that hold modality folders.

    Releases ship SMIC_all_raw/ and SMIC_all_cropped/ side by side: each is a tree.
    """
    found: dict[Path, dict[str, Path]] = {}
    if not root.is_dir():
        return found
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for child in sorted(p for p in folder.iterdir() if p.is_dir()):
            name = child.name.upper()
            if name in MODALITIES and any(_SUBJECT.fullmatch(p.name) for p in child.iterdir()):
                found.setdefault(folder, {}).setdefault(name, child)
    return found


def tree_kind(tree: dict[str, Path]) -> str:
    """"cropped" or "raw": from the folder name (SMIC_all_cropped), else from the frames (reg_*.bmp = cropped)."""
    folder = next(iter(tree.values())).parent
    if "crop" in folder.name.lower():
        return "cropped"
    if "raw" in folder.name.lower():
        return "raw"
    first = next((p for m in tree.values() for p in m.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES), None)
    return "cropped" if first is not None and first.name.lower().startswith("reg") else "raw"


def modality_dirs(root: Path, tree: str = "auto") -> dict[str, Path]:
    """{"HS": path, ...} of the SMIC tree in root or one level below (SMIC_all_raw/HS); see `choose_tree`."""
    return choose_tree(root, tree)[0]


def choose_tree(root: Path, tree: str = "auto") -> tuple[dict[str, Path], tuple[str, str] | None]:
    """The modality folders to read, and (what, handled) when a raw and a cropped tree were both present.

    Args:
        tree: "raw" or "cropped" (every tree of that kind), the name of the folder holding one tree, or
            "auto": the only kind present, else the raw tree (and the note says so and how to choose).
    """
    found = trees(root)
    kinds = {folder: tree_kind(mods) for folder, mods in found.items()}
    listed = ", ".join(f"{f.name or f} ({k})" for f, k in kinds.items())
    if tree == "auto":
        chosen = [f for f, k in kinds.items() if k == "raw"] if len(set(kinds.values())) > 1 else list(found)
        how = "(raw, the default)"
    else:
        chosen = [f for f, k in kinds.items() if tree in (k, f.name)]
        how = f"(tree={tree!r})"
        if not chosen:
            raise ValueError(f"`tree` names no SMIC tree in {root}. Received: tree={tree!r}. Found: {listed or 'none'}. "
                             "Pass 'raw', 'cropped', one of the folder names, or 'auto'.")
    note = None
    if len(chosen) < len(found):
        note = (f"{len(found)} SMIC trees: {listed}", f"read {', '.join(f.name for f in chosen)} {how}; choose with "
                "tree='raw', 'cropped' or a folder name (mer data check --smic-tree)")
    modalities: dict[str, Path] = {}
    for folder in chosen:  # trees of one kind may split the modalities between them
        for name, path in found[folder].items():
            modalities.setdefault(name, path)
    return modalities, note


def load_smic(path: Path, label_map: dict | None = None, modalities: tuple[str, ...] = MODALITIES,
              verify: bool = True, progress: bool = False, tree: str = "auto") -> DatasetReport:
    """Read the SMIC modality trees found under `path`.

    Args:
        path: the folder holding HS/, VIS/, NIR/ (or SMIC_all_raw/ holding them).
        label_map: raw label -> seven-class overrides (SMIC's "positive" and
            "negative" have no seven-class label by default; "surprise" does).
        modalities: which of HS, VIS, NIR to read; datasets are named smic-hs, smic-vis, smic-nir.
        verify: decode every frame and drop unreadable ones (reported).
        progress: show a tqdm bar (stderr) over the subjects.
        tree: when `path` holds both a raw and a cropped tree (SMIC_all_raw/, SMIC_all_cropped/): "raw",
            "cropped" or the folder's name; "auto" reads the raw one and reports the choice as a quirk.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"SMIC folder not found: {root}. Expected {LAYOUT}.")
    report = DatasetReport(name="smic", roots=(root,))
    found, note = choose_tree(root, tree)
    wanted = [m.upper() for m in modalities]
    if not any(m in found for m in wanted):
        raise FileNotFoundError(f"No SMIC modality folder ({'/'.join(wanted)}) in {root}. Expected {LAYOUT}.")
    if note:  # reported under the first modality read, so the composite shows no empty "smic" part
        report.quirks.append(Quirk(f"smic-{next(m for m in wanted if m in found).lower()}", str(root), None, *note))
    label_map = {**SEVEN_DEFAULTS, **(label_map or {})}
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
