"""A miniature of the MEGC 2019 release (STSTNet/HTNet), in its real layout, for tests.

Real file names and CSV columns; generated images (no licensed data). SMIC
apex crops are named by the CSV's imagename column (s01_s1_ne_01.jpg), as in
the release; flow images carry the space before ".png".
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

# (dataset, sub, filename_o, class); classes as names, written as codes by `build_release`
ROWS = [
    ("casme2", "sub01", "EP02_01f", "positive"),
    ("casme2", "sub01", "EP19_05f", "negative"),
    ("casme2", "sub02", "EP01_11f", "negative"),
    ("casme2", "sub02", "EP06_02f", "surprise"),
    ("samm", "006", "006_1_2", "negative"),
    ("samm", "006", "006_5_10", "positive"),
    ("samm", "007", "007_3_1", "surprise"),
    ("smic", "s01", "s01_ne_01", "negative"),
    ("smic", "s01", "s01_po_01", "positive"),
    ("smic", "s02", "s02_sur_01", "surprise"),
    ("smic", "s02", "s02_ne_02", "negative"),
]
CODES = {"negative": "0", "positive": "1", "surprise": "2"}


def _image(seed: int, size: int, grey: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size, size, 1 if grey else 3), dtype=np.uint8)
    return img[..., 0] if grey else img


def apex_name(dataset: str, sub: str, clip: str) -> str:
    if dataset == "smic":  # s01_ne_01 -> s01_s1_ne_01.jpg, as the release names them
        return f"{sub}_s{int(sub[1:])}{clip[len(sub):]}.jpg"
    return f"{sub}_{clip}.jpg"


def build_release(root: Path, rows=ROWS, codes: dict | None = None, extra_csv_rows=(), face=None) -> Path:
    """Write the miniature release under `root`; returns `root`.

    Args:
        rows: (dataset, sub, filename_o, class) tuples.
        codes: class -> label code written in the CSV (default: the release's 0/1/2).
        extra_csv_rows: raw CSV rows (dicts) appended as they are (quirks).
        face: an optional (224, 224, 3) uint8 image used as every apex crop
            (a real face lets the detectors run); default: noise.
    """
    import cv2

    codes = codes or CODES
    apex_dir = root / "datasets" / "combined_datasets_whole"
    flow_dir = root / "datasets" / "STSNet_whole_norm_u_v_os"
    apex_dir.mkdir(parents=True, exist_ok=True)
    flow_dir.mkdir(parents=True, exist_ok=True)
    with open(root / "combined_3_class2_for_optical_flow.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["dataset", "sub", "filename_o", "label", "apex", "imagename", "sub_filename"])
        w.writeheader()
        for i, (dataset, sub, clip, cls) in enumerate(rows):
            name = apex_name(dataset, sub, clip)
            w.writerow({"dataset": dataset, "sub": sub, "filename_o": clip, "label": codes[cls], "apex": "",
                        "imagename": name, "sub_filename": ""})
            img = face if face is not None else _image(i, 224, grey=dataset == "samm")
            cv2.imwrite(str(apex_dir / name), img)
            cv2.imwrite(str(flow_dir / f"{sub}_{clip} .png"), _image(1000 + i, 28))
        for r in extra_csv_rows:
            w.writerow({"apex": "", "imagename": "", "sub_filename": "", **r})
    return root
