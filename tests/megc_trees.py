"""A miniature of the full raw CASME II, SAMM and SMIC trees, built from the official MEGC 2019 id list.

Every listed clip is there (two tiny frames each, sheets in the real column
layouts), plus the clips MEGC 2019 leaves out: CASME II sadness and fear clips
(sub10 EP11_01 / EP11_01f, a subject with no listed clip, as in the real
set), a CASME II clip whose apex is "/" (sub04 EP12_01f, a real quirk) and an
"others" clip in CASME II and SAMM. The list is read here with the csv module,
independently of the loader under test.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from datasets_trees import CASME2_HEADER, SAMM_HEADER, SAMM_PREAMBLE, write_frames, write_sheet

CASME2_NEGATIVE = ("disgust", "repression")  # CASME II's negative clips in MEGC 2019
SAMM_NEGATIVE = ("Anger", "Contempt", "Disgust", "Fear", "Sadness")
SMIC_CODES = {"negative": "ne", "positive": "po", "surprise": "sur"}
CLASSES = ("negative", "positive", "surprise")  # the list's codes 0, 1, 2

# (subject, filename, apex cell, emotion): clips of the raw sheets that MEGC 2019 leaves out
CASME2_EXTRAS = [(10, "EP11_01", 2, "sadness"), (10, "EP11_01f", 2, "fear"), (4, "EP12_01f", "/", "disgust"),
                 (1, "EP99_01", 2, "others")]
SAMM_EXTRAS = [(6, "006_1_99", 2, "Other")]


def official_rows() -> list[dict]:
    text = resources.files("mer_tf.datasets").joinpath("megc2019_ids.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def build_megc_trees(root: Path, rows: list[dict] | None = None, extras: bool = True) -> Path:
    """root/CASME2, root/SAMM, root/SMIC holding every listed clip (and the extras)."""
    rows = official_rows() if rows is None else rows
    casme, samm, n = [], [], 0
    for row in rows:
        label = CLASSES[int(row["label"])]
        number = int("".join(c for c in row["sub"] if c.isdigit()))
        if row["dataset"] == "casme2":
            n += 1
            emotion = {"negative": CASME2_NEGATIVE[n % 2], "positive": "happiness", "surprise": "surprise"}[label]
            casme.append((number, row["filename_o"], 2, emotion))
        elif row["dataset"] == "samm":
            n += 1
            emotion = {"negative": SAMM_NEGATIVE[n % 5], "positive": "Happiness", "surprise": "Surprise"}[label]
            samm.append((number, row["filename_o"], 2, emotion))
        else:  # SMIC folders say s1 and s1_ne_01 where the list says s01 and s01_ne_01
            clip = row["filename_o"].split("_")
            folder = root / "SMIC/HS" / f"s{number}" / "micro" / label / f"s{number}_{clip[1]}_{clip[2]}"
            write_frames(folder, ["reg_image000001", "reg_image000002"], suffix=".bmp")
    if extras:
        casme += CASME2_EXTRAS
        samm += SAMM_EXTRAS
    for subject, filename, *_ in casme:
        write_frames(root / "CASME2/CASME2_RAW_selected" / f"sub{subject:02d}" / filename, ["img1", "img2"])
    write_sheet(root / "CASME2/CASME2-coding-20140508.xlsx",
                [CASME2_HEADER, *[(s, f, None, 1, apex, 2, None, "", emo) for s, f, apex, emo in casme]])
    for subject, filename, *_ in samm:
        write_frames(root / "SAMM/SAMM" / f"{subject:03d}" / filename, [f"{subject:03d}_00001", f"{subject:03d}_00002"])
    write_sheet(root / "SAMM/SAMM_Micro_FACS_Codes_v2.xlsx",
                [SAMM_HEADER, *[(s, f, f.split("_")[1], 1, apex, 2, 2, "Micro - 1/2", "", "", emo)
                                for s, f, apex, emo in samm]], preamble=SAMM_PREAMBLE)
    return root
