"""`load_dataset`: one entry point for every dataset, the composite and auto-detection."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from mer_tf.datasets import casme2, megc2019, samm, smic
from mer_tf.datasets.dataset_report import DatasetReport
from mer_tf.datasets.megc_selection import MEGCSelection
from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sheets import find_files

log = logging.getLogger(__name__)

DATASETS = ("casme2", "samm", "smic", "synthetic", "composite", "megc2019", "auto")
SELECTIONS = ("megc2019", "all")
COMPOSITE_PARTS = ("casme2", "samm", "smic")
EXPECTED = (
    f"CASME II: {casme2.LAYOUT}; SAMM: {samm.LAYOUT}; SMIC: {smic.LAYOUT}; "
    "synthetic: the output of `mer data synth` (CASME II layout + synthetic.json); "
    "composite: a folder holding the CASME II, SAMM and SMIC folders; "
    f"megc2019: {megc2019.LAYOUT}"
)


def detect_layout(path: Path) -> list[str]:
    """The dataset layouts found directly at `path` (not in sub-folders)."""
    path = Path(path)
    if not path.is_dir():
        return []
    found = []
    if megc2019.is_release(path):
        return ["megc2019"]
    root = casme2.casme2_root(path)
    if any((root / t).is_dir() for t in (casme2.RAW_TREE, casme2.CROPPED_TREE)) and find_files(
            root, casme2.SHEET_PATTERNS, depth=1):
        found.append("synthetic" if (root / casme2.SYNTHETIC_MANIFEST).is_file() else "casme2")
    if samm.frames_root(path) is not None and find_files(path, samm.SHEET_PATTERNS, depth=1):
        found.append("samm")
    if smic.modality_dirs(path):
        found.append("smic")
    return found


def _auto(path: Path) -> tuple[str, Path]:
    """(dataset kind, the folder to read it from)."""
    children = {}
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        for kind in detect_layout(child):
            children.setdefault(kind, child)
    if len(set(children) & set(COMPOSITE_PARTS)) >= 2:
        return "composite", path
    here = detect_layout(path)
    if len(here) == 1:
        return here[0], path
    if len(here) > 1:
        return "composite", path
    if len(children) == 1:
        return next(iter(children.items()))
    raise ValueError(f"Cannot tell which dataset {path} holds: no known layout found there or one level below. "
                     f"Expected one of: {EXPECTED}. Or pass dataset=... explicitly.")


def load_dataset(path, dataset: str = "auto", label_map: dict | None = None, verify: bool = True,
                 variant: str = "auto", modalities: tuple[str, ...] = smic.MODALITIES,
                 progress: bool = False, selection: str = "megc2019", smic_tree: str = "auto") -> DatasetReport:
    """Load a micro-expression dataset tree as its owners ship it.

    Args:
        path: the dataset folder; for "composite" a folder holding the three
            trees, or a sequence of their folders.
        dataset: "casme2", "samm", "smic", "synthetic", "composite",
            "megc2019" (the composite as STSTNet/HTNet publish it) or "auto".
        label_map: raw label -> seven-class overrides (e.g. {"repression": "Disgust"}).
        verify: decode every frame, dropping and reporting unreadable ones.
        variant: CASME II tree: "raw" (CASME2_RAW_selected), "cropped" (Cropped) or "auto" (raw if present).
        modalities: SMIC modalities to read (HS, VIS, NIR).
        progress: show tqdm bars (stderr) while reading.
        selection: the composite's samples: "megc2019" (the official MEGC 2019 id list, 442 samples),
            "all" (every clip with a 3-class label) or the path of an id list CSV (dataset, sub, filename_o, label).
        smic_tree: SMIC, when a folder holds both a raw and a cropped tree: "raw", "cropped", the name of the
            folder holding the tree to read, or "auto" (raw, reported as a quirk).

    Returns:
        A DatasetReport: `.samples` (list of Sample), `.quirks`, `.counts()`, `.summary()`.

    Raises:
        FileNotFoundError: the path does not exist or lacks an expected part.
        ValueError: an unknown dataset name, an unreadable layout or sheet, or an unknown emotion label.
    """
    if dataset not in DATASETS:
        raise ValueError(f"`dataset` must be one of {DATASETS}. Received: dataset={dataset!r}")
    composite = dict(label_map=label_map, verify=verify, progress=progress, selection=selection, variant=variant,
                     smic_tree=smic_tree)
    if dataset == "composite" or (not isinstance(path, (str, Path)) and isinstance(path, Sequence)):
        return load_composite(path, **composite)
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Dataset path does not exist: {path}. Expected: {EXPECTED}")
    if not path.is_dir():
        raise ValueError(f"Dataset path {path} is a file; pass the folder that holds the dataset. Expected: {EXPECTED}")
    if dataset == "auto":
        dataset, path = _auto(path)
        log.info("detected %s at %s", dataset, path)
        if dataset == "composite":
            return load_composite(path, **composite)
    if dataset in ("casme2", "synthetic"):
        return casme2.load_casme2(path, label_map=label_map, dataset=dataset, verify=verify, variant=variant,
                                  progress=progress)
    if dataset == "megc2019":
        return megc2019.load_megc2019(path, verify=verify, progress=progress)
    if dataset == "samm":
        return samm.load_samm(path, label_map=label_map, verify=verify, progress=progress)
    return smic.load_smic(path, label_map=label_map, verify=verify, modalities=modalities, progress=progress,
                          tree=smic_tree)


def load_composite(paths, label_map: dict | None = None, verify: bool = True, progress: bool = False,
                   selection: str = "megc2019", variant: str = "auto", smic_tree: str = "auto") -> DatasetReport:
    """The MEGC 2019 composite: CASME II + SAMM + SMIC-HS in three classes.

    With selection="megc2019" the official id list decides which clips form
    it and their labels (442 samples, 68 subjects from the full raw trees):
    every sample left out is reported with its reason, every listed id
    without a sample is reported as a missing clip. With "all", every clip
    with a 3-class label is kept ("others" dropped and counted). SMIC-VIS/NIR
    are never part of it.

    Args:
        paths: a folder holding the three dataset folders, or a sequence of the three folders.
        selection: "megc2019", "all", or the path of an id list CSV in the official columns.
        variant: the CASME II tree ("auto", "raw", "cropped").
        smic_tree: the SMIC tree when both a raw and a cropped one are present (see `load_dataset`).
    """
    chosen = _selection(selection)
    if isinstance(paths, (str, Path)):
        root = Path(paths).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"Composite folder does not exist: {root}. Expected: {EXPECTED}")
        # children first: SMIC's layout is also visible one level up, from the composite's root
        candidates = [*sorted(p for p in root.iterdir() if p.is_dir()), root]
    else:
        candidates = [Path(p).expanduser() for p in paths]
        for p in candidates:
            if not p.is_dir():
                raise FileNotFoundError(f"Composite part does not exist: {p}. Expected: {EXPECTED}")
    parts: dict[str, Path] = {}
    for folder in candidates:
        for kind in detect_layout(folder):
            if kind in COMPOSITE_PARTS:
                parts.setdefault(kind, folder)
    if not parts:
        raise ValueError(f"No CASME II, SAMM or SMIC layout in {[str(c) for c in candidates]}. Expected: {EXPECTED}")
    report = DatasetReport(name="composite", roots=())
    loaders = {
        "casme2": lambda p: casme2.load_casme2(p, label_map=label_map, verify=verify, progress=progress,
                                               variant=variant),
        "samm": lambda p: samm.load_samm(p, label_map=label_map, verify=verify, progress=progress),
        "smic": lambda p: smic.load_smic(p, label_map=label_map, modalities=("HS",), verify=verify, progress=progress,
                                         tree=smic_tree),
    }
    for kind in COMPOSITE_PARTS:
        if kind not in parts:
            report.quirks.append(Quirk("composite", str(candidates[0]), None, f"no {kind} layout found",
                                       "composite built without it: counts are not the MEGC 2019 composite's"))
            continue
        part = loaders[kind](parts[kind])
        if chosen is not None:
            for name in sorted({s.dataset for s in part.samples} | ({"smic-hs"} if kind == "smic" else {kind})):
                kept, quirks = chosen.select([s for s in part.samples if s.dataset == name], name)
                part.samples = [s for s in part.samples if s.dataset != name] + kept
                part.quirks.extend(quirks)
        else:
            dropped = [s for s in part.samples if s.label3 is None]
            part.samples = [s for s in part.samples if s.label3 is not None]
            if dropped:
                labels = sorted({s.raw_label for s in dropped})
                part.quirks.append(Quirk(part.datasets[0] if part.datasets else kind, str(parts[kind]), None,
                                         f"{len(dropped)} samples without a 3-class label ({', '.join(labels)})",
                                         "dropped from the composite (MEGC 2019 drops 'others')"))
        report.extend(part)
    log.info("composite (%s): %d samples", selection, len(report.samples))
    return report


def _selection(selection) -> MEGCSelection | None:
    """"megc2019" -> the packaged list, "all" -> None, a path -> that list."""
    if isinstance(selection, MEGCSelection):
        return selection
    if selection == "all":
        return None
    if selection == "megc2019":
        return MEGCSelection.official()
    if isinstance(selection, (str, Path)) and (Path(selection).suffix.lower() == ".csv" or Path(selection).exists()):
        return MEGCSelection.from_csv(selection)
    raise ValueError(f"`selection` must be one of {SELECTIONS} or the path of an id list CSV. "
                     f"Received: selection={selection!r}")
