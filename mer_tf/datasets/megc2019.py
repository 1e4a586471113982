"""The MEGC 2019 composite as the field publishes it (the STSTNet/HTNet release).

Layout (../../datasets/megc2019.md), read exactly as shipped:

    combined_3_class2_for_optical_flow.csv        dataset, sub, filename_o, label, apex, imagename, sub_filename
    datasets/combined_datasets_whole/<imagename>  224x224 apex face crop (SAMM grey, the others colour)
    datasets/STSNet_whole_norm_u_v_os/<sub>_<filename_o> .png
                                                  28x28 onset->apex flow: u, v, optical strain
                                                  (note the space before ".png"; OpenCV reads it as
                                                  BGR = strain, v, u; each channel min-max scaled)

The label codes (0, 1, 2) are not documented in the release. They are read
off the data: SMIC's clip names carry their class (``s01_ne_01`` negative,
``_po_`` positive, ``_sur_`` surprise), so every code is mapped to the class
that all of its SMIC rows name; a code whose SMIC rows disagree is an error.
Without SMIC rows the MEGC 2019 convention (0 negative, 1 positive,
2 surprise, the only one that gives its 250/109/83 counts) is used and said.

There is no onset frame: each sample's ``neutral`` is "subject_mean", the
mean aligned landmarks of the subject's apex crops (label-free, an
approximation; see ``mer_tf.ecrl.subject_neutral``).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

from mer_tf.datasets.dataset_report import DatasetReport
from mer_tf.datasets.quirk import Quirk
from mer_tf.datasets.sample import Sample
from mer_tf.labels import MEGC3

CSV_NAME = "combined_3_class2_for_optical_flow.csv"
APEX_DIR = Path("datasets") / "combined_datasets_whole"
FLOW_DIR = Path("datasets") / "STSNet_whole_norm_u_v_os"
COLUMNS = ("dataset", "sub", "filename_o", "label")
LAYOUT = (f"a folder holding {CSV_NAME}, {APEX_DIR}/<imagename> and "
          f"{FLOW_DIR}/<sub>_<filename_o> .png (the MEGC 2019 release of STSTNet/HTNet)")
# MEGC 2019's documented convention, used only when the data cannot tell
DEFAULT_CODES = {"0": "negative", "1": "positive", "2": "surprise"}
SOURCES = {"casme2": "casme2", "samm": "samm", "smic": "smic-hs"}
SMIC_CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}
SEVEN = {"positive": "Happy", "surprise": "Surprise", "negative": None}  # negative: several emotions
_SMIC_CLIP = re.compile(r"(?i)s\d+_([a-z]+)_\d+")


def is_release(path: Path) -> bool:
    """True when `path` holds the release's CSV and its apex-crop folder."""
    path = Path(path)
    return (path / CSV_NAME).is_file() and (path / APEX_DIR).is_dir()


def _read_rows(csv_path: Path) -> list[dict]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{csv_path}: missing columns {missing}; found {reader.fieldnames}. "
                                 f"Expected the release's columns {COLUMNS} (+ apex, imagename, sub_filename).")
            return [dict(r) for r in reader]
    except UnicodeDecodeError as err:
        raise ValueError(f"{csv_path} is not a UTF-8 CSV ({err}); restore the release's file.") from None


def label_codes(rows: list[dict], csv_path: Path, quirks: list[Quirk], notes: list[str] | None = None) -> dict[str, str]:
    """Label code -> MEGC class, established from SMIC's clip names (see the module docstring)."""
    seen: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        m = _SMIC_CLIP.fullmatch(r["filename_o"].strip()) if r["dataset"].strip().lower() == "smic" else None
        if m and m.group(1).lower() in SMIC_CODES:
            seen[r["label"].strip()][SMIC_CODES[m.group(1).lower()]] += 1
    codes = {}
    for code, classes in seen.items():
        if len(classes) > 1:
            raise ValueError(f"{csv_path}: label code {code!r} names several SMIC classes {dict(classes)}; "
                             "the CSV's labels disagree with its clip names. Restore the release's CSV.")
        codes[code] = next(iter(classes))
    if len(set(codes.values())) != len(codes):
        raise ValueError(f"{csv_path}: two label codes name the same SMIC class ({codes}); restore the release's CSV.")
    if len(codes) == len(MEGC3):
        if notes is not None:
            notes.append("label codes, read off SMIC's clip names (_ne_, _po_, _sur_): " + ", ".join(
                f"{c} = {codes[c]} ({sum(seen[c].values())} SMIC rows)" for c in sorted(codes)))
        return codes
    for code, name in DEFAULT_CODES.items():  # what SMIC could not settle
        if code not in codes and name not in codes.values():
            codes[code] = name
    quirks.append(Quirk("megc2019", str(csv_path), None,
                        f"SMIC rows settle only {sorted(seen)} of the label codes",
                        f"the MEGC 2019 convention fills the rest: {codes}"))
    return codes


def load_megc2019(path: Path, verify: bool = True, progress: bool = False) -> DatasetReport:
    """Read the release at `path`: one Sample per CSV row, every quirk reported.

    Each sample's ``frames`` is its apex crop (onset = apex = offset = 0),
    ``flow`` the u/v/strain image, ``dataset`` its source (casme2, samm,
    smic-hs), ``label3`` its MEGC class and ``label7`` Happy or Surprise for
    positive and surprise (negative stands for several emotions: None).

    Args:
        path: the release folder (LAYOUT).
        verify: decode every image, dropping unreadable ones (reported).
        progress: a tqdm bar while verifying.
    """
    from tqdm import tqdm

    root = Path(path).expanduser()
    csv_path = root / CSV_NAME
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} not found. Expected: {LAYOUT}")
    for sub in (APEX_DIR, FLOW_DIR):
        if not (root / sub).is_dir():
            raise FileNotFoundError(f"{root / sub} not found. Expected: {LAYOUT}")
    report = DatasetReport(name="megc2019", roots=(root,))
    rows = _read_rows(csv_path)
    codes = label_codes(rows, csv_path, report.quirks, report.notes)
    apex_files = {p.name for p in (root / APEX_DIR).iterdir()}
    flow_files = {p.name for p in (root / FLOW_DIR).iterdir()}
    renamed_flow, renamed_apex = 0, Counter()
    seen_ids: dict[str, int] = {}
    for line, r in enumerate(tqdm(rows, desc="megc2019", disable=not progress, unit="row"), start=2):
        source = SOURCES.get(r["dataset"].strip().lower())
        sub, clip, code = r["sub"].strip(), r["filename_o"].strip(), r["label"].strip()
        where = f"megc2019/{sub}/{clip}"
        if source is None:
            report.quirks.append(Quirk("megc2019", where, line, f"unknown source dataset {r['dataset']!r}",
                                       f"skipped (known: {sorted(SOURCES)})"))
            continue
        if code not in codes:
            report.quirks.append(Quirk(source, where, line, f"unknown label code {code!r}",
                                       f"skipped (codes: {codes})"))
            continue
        key = f"{source}/{sub}/{clip}"
        if key in seen_ids:
            report.quirks.append(Quirk(source, where, line, f"duplicate id (first on row {seen_ids[key]})",
                                       "skipped: the first row is kept"))
            continue
        seen_ids[key] = line
        apex_name = (r.get("imagename") or "").strip()
        conventional = f"{sub}_{clip}.jpg"
        if apex_name not in apex_files:
            apex_name = conventional if conventional in apex_files else ""
        elif apex_name != conventional:
            renamed_apex[source] += 1
        flow_name = f"{sub}_{clip} .png"
        if flow_name not in flow_files and f"{sub}_{clip}.png" in flow_files:
            flow_name = f"{sub}_{clip}.png"
        elif flow_name in flow_files:
            renamed_flow += 1
        missing = [what for what, ok in (("apex crop", apex_name), ("flow image", flow_name in flow_files)) if not ok]
        if missing:
            report.quirks.append(Quirk(source, where, line, f"missing {' and '.join(missing)} "
                                       f"(looked for {r.get('imagename') or conventional!r} in {APEX_DIR}, "
                                       f"{flow_name!r} in {FLOW_DIR})", "skipped"))
            continue
        apex_path, flow_path = root / APEX_DIR / apex_name, root / FLOW_DIR / flow_name
        if verify:
            bad = _unreadable(apex_path, flow_path)
            if bad:
                report.quirks.append(Quirk(source, where, line, f"cannot decode {bad}", "skipped"))
                continue
        label3 = codes[code]
        report.samples.append(Sample(
            dataset=source, subject=sub, sample_id=clip, frames=(apex_path,), onset=0, apex=0, offset=0,
            raw_label=label3, label7=SEVEN[label3], label3=label3, group=sub, flow=flow_path,
            neutral="subject_mean",
        ))
    for source, n in sorted(renamed_apex.items()):
        report.quirks.append(Quirk(source, str(root / APEX_DIR), None,
                                   f"{n} apex crops are not named '<sub>_<filename_o>.jpg' (e.g. s01_s1_ne_01.jpg)",
                                   "read by the CSV's imagename column"))
    if renamed_flow:
        report.quirks.append(Quirk("megc2019", str(root / FLOW_DIR), None,
                                   f"{renamed_flow} flow images are named '<sub>_<filename_o> .png' (a space before .png)",
                                   "read as shipped"))
    return report


def _unreadable(*paths: Path) -> str:
    """The first of `paths` OpenCV cannot decode, or ''."""
    import cv2

    for p in paths:
        if cv2.imread(str(p), cv2.IMREAD_UNCHANGED) is None:
            return p.name
    return ""
