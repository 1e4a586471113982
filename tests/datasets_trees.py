"""Miniature dataset trees in the owners' real layouts, for the dataset tests.

Frames are tiny real JPEG/BMP files; the sheets are real .xlsx written with
openpyxl in the real column order (CASME II's unnamed blank columns, SAMM's
preamble rows). Every quirk of ../../shared DATASETS.md is planted here.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import openpyxl

CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                 "Estimated Emotion"]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Type", "Action Units", "Notes", "Estimated Emotion"]


def write_frames(folder: Path, names, suffix: str = ".jpg") -> list[Path]:
    """Tiny frames whose pixel value encodes their position (so order can be checked)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        path = folder / f"{name}{suffix}"
        cv2.imwrite(str(path), np.full((8, 8, 3), (i * 20) % 250, np.uint8))
        paths.append(path)
    return paths


def write_sheet(path: Path, rows, preamble=()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    for line in preamble:
        sheet.append(list(line))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


# (subject, filename, onset, apex, offset, AUs, emotion, frame numbers present or None for "no folder")
CASME2_ROWS = [
    (1, "EP02_01f", 98, 100, 103, "12", "happiness", range(98, 104)),     # img98..img103: numeric order
    (1, "EP03_02", 40, 42, 44, "4+9", "disgust", range(40, 45)),           # 42 unreadable (planted below)
    (2, "EP01_11f", 10, 12, 14, "14", "repression", range(10, 15)),        # no seven-class label
    (2, "EP05_03", 7, 9, 11, "1+2", "others", range(7, 12)),               # dropped from both schemes
    (3, "EP01_08", 10, 13, 16, "1+2+25", "surprise", [10, 11, 13, 14, 15, 16]),  # frame 12 missing
    (3, "EP07_01", 1, 2, 3, "4", "fear", []),                              # empty clip folder
    (3, "EP08_01", 1, 2, 3, "15", "sadness", None),                        # no clip folder
    (4, "EP12_01f", 20, "/", 26, "4+7", "disgust", range(20, 27)),         # apex "/"
    (4, "EP13_02", 30, 39, 34, "6+12", "Happiness ", range(30, 35)),        # apex outside onset..offset
]


def build_casme2(root: Path, rows=CASME2_ROWS, cropped: bool = True, sheet_name="CASME2-coding-20140508.xlsx") -> Path:
    for subject, filename, *_, numbers in rows:
        if numbers is None:
            (root / "CASME2_RAW_selected" / f"sub{subject:02d}").mkdir(parents=True, exist_ok=True)
            continue
        write_frames(root / "CASME2_RAW_selected" / f"sub{subject:02d}" / filename, [f"img{n}" for n in numbers])
        if cropped:  # the cropped release names folders without the trailing "f"
            write_frames(root / "Cropped" / f"sub{subject:02d}" / filename.rstrip("f"),
                         [f"reg_img{n}" for n in numbers])
    if rows is CASME2_ROWS:  # the quirks that need more than a sheet row
        (root / "CASME2_RAW_selected/sub01/EP03_02/img42.jpg").write_bytes(b"not a jpeg")
        write_frames(root / "CASME2_RAW_selected/sub02/EP99_99", ["img1", "img2"])  # not in the sheet
    sheet_rows = [(s, f, None, on, ap, off, None, au, emo) for s, f, on, ap, off, au, emo, _ in rows]
    write_sheet(root / sheet_name, [CASME2_HEADER, *sheet_rows])
    return root


# (subject, filename, onset, apex, offset, AUs, emotion, frame numbers)
SAMM_ROWS = [
    (6, "006_1_2", 5562, 5564, 5566, "R12", "Happiness", range(5561, 5568)),
    (7, "007_3_1", 100, -1, 104, "4+7", "Anger", range(100, 105)),            # apex missing (-1)
    (28, "028_4_1", 900, 950, 904, "1+2", "Surprise", range(900, 905)),       # apex outside onset..offset
    (11, "011_2_3", 40, 41, 43, "R12 or 14", "Contempt", range(40, 44)),      # AU "or"; no seven-class label
    (32, "032_3_1", 10, 11, 12, "L2", "Other", range(10, 13)),                # dropped from both schemes
]
SAMM_PREAMBLE = [("SAMM - Spontaneous Micro-Facial Movement Dataset",), (), ("FACS coding, v2",), ()] + [
    (f"note {i}",) for i in range(9)
]  # 13 preamble rows: the header is on Excel row 14


def build_samm(root: Path, rows=SAMM_ROWS, header=SAMM_HEADER) -> Path:
    for subject, filename, *_, numbers in rows:
        write_frames(root / "SAMM" / f"{subject:03d}" / filename, [f"{subject:03d}_{n:05d}" for n in numbers])
    sheet_rows = [(s, f, f.split("_")[1], on, ap, off, off - on + 1, "Micro - 1/2", au, "", emo)
                  for s, f, on, ap, off, au, emo, _ in rows]
    write_sheet(root / "SAMM_Micro_FACS_Codes_v2.xlsx", [header, *sheet_rows], preamble=SAMM_PREAMBLE)
    return root


# (modality, subject folder, class folder, clip folder, frame numbers)
SMIC_CLIPS = [
    ("HS", "s1", "negative", "s1_ne_01", range(63901, 63907)),
    ("HS", "s1", "positive", "s1_po_01", range(7000, 7005)),
    ("HS", "s2", "surprise", "s2_sur_01", [5, 6, 8, 9]),          # frame 7 missing
    ("HS", "s2", "negative", "s2_ne_02", []),                     # empty clip
    ("VIS", "s1", "positive", "s1_po_01", range(10, 14)),
    ("NIR", "s1", "positive", "s1_po_01", range(10, 14)),
]


def build_smic(root: Path, clips=SMIC_CLIPS) -> Path:
    for modality, subject, kind, clip, numbers in clips:
        folder = root / modality / subject / "micro" / kind / clip
        folder.mkdir(parents=True, exist_ok=True)
        write_frames(folder, [f"reg_image{n:06d}" for n in numbers], suffix=".bmp")
    (root / "HS/s1/non_micro/n_01").mkdir(parents=True)
    return root
