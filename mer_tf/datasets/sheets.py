"""Reading the coding sheets (.xlsx) the dataset owners ship.

The sheets differ between releases: CASME II has unnamed blank columns, SAMM
has about 13 preamble rows above its header, some releases add columns. So
the header row is found by its names, columns are matched by normalized name
(case, spaces and underscores ignored), and every data row keeps its Excel
row number so that quirks and errors can point at it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

# How far down the header may sit (SAMM v2: Excel row 14).
MAX_HEADER_ROW = 40

MISSING_CELLS = {"", "/", "-", "--", "n/a", "na", "nan", "none", "?"}


def normalize_header(name) -> str:
    """"Onset Frame", "OnsetFrame", "onset_frame" -> "onsetframe"."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def is_missing(value) -> bool:
    """True for a blank cell, "/", "-", NaN, or SAMM's -1."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, (int, float)) and value < 0:
        return True
    return str(value).strip().lower() in MISSING_CELLS


def as_int(value) -> int | None:
    """An integer frame or subject number from a cell, or None if it is not one."""
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else None
    match = re.fullmatch(r"(\d+)(?:\.0*)?", str(value).strip())
    return int(match.group(1)) if match else None


def read_sheet(path: Path, required: dict[str, tuple[str, ...]], optional: dict[str, tuple[str, ...]] | None = None,
               layout: str = ""):
    """Read a coding sheet into a pandas DataFrame with canonical column names.

    Args:
        path: the .xlsx file (first worksheet is read).
        required: canonical name -> accepted header spellings (any is enough).
        optional: the same for columns that some releases lack.
        layout: a description of the expected layout, quoted in errors.

    Returns:
        (DataFrame with the canonical columns plus "excel_row", header Excel row).

    Raises:
        FileNotFoundError: the sheet does not exist.
        ValueError: the sheet cannot be read, or a required column is missing
            or renamed (the message names the file, the header row, the
            columns found and the columns expected).
    """
    import openpyxl
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Coding sheet not found: {path}. Expected: {layout}")
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise ValueError(f"Cannot read coding sheet {path}: {err}. Expected an .xlsx file: {layout}") from None
    sheet = book.worksheets[0]
    rows = [(cells[0].row, [c.value for c in cells]) for cells in sheet.iter_rows(min_row=1) if cells]
    optional = optional or {}
    wanted = {c: tuple(normalize_header(a) for a in (c,) + names) for c, names in {**required, **optional}.items()}

    header_row, header = None, None
    best: tuple[int, int, list] = (0, 0, [])
    for excel_row, values in rows[:MAX_HEADER_ROW]:
        names = [normalize_header(v) if v is not None else "" for v in values]
        hits = sum(any(a in names for a in wanted[c]) for c in required)
        if hits == len(required):
            header_row, header = excel_row, names
            break
        if hits > best[0]:
            best = (hits, excel_row, values)
    if header is None:
        if best[0] == 0:
            raise ValueError(
                f"No header row found in coding sheet {path} (searched rows 1-{MAX_HEADER_ROW}). "
                f"Expected columns {list(required)}: {layout}"
            )
        found_names = [normalize_header(v) for v in best[2] if v is not None]
        missing = [c for c in required if not any(a in found_names for a in wanted[c])]
        raise ValueError(
            f"Coding sheet {path}, header row {best[1]}: missing or renamed column(s) {missing}. "
            f"Found columns {[str(v) for v in best[2] if v is not None]}. Expected: {layout}"
        )

    positions: dict[str, int] = {}
    for canon, aliases in wanted.items():
        for i, name in enumerate(header):
            if name in aliases:
                positions[canon] = i
                break
    records = []
    for excel_row, values in rows:
        if excel_row <= header_row:
            continue
        record = {c: (values[i] if i < len(values) else None) for c, i in positions.items()}
        if all(is_missing(v) or v is None for v in record.values()):
            continue  # a blank row (releases end with some): not data
        record["excel_row"] = excel_row
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[*positions, "excel_row"])
    for canon in optional:
        if canon not in frame.columns:
            frame[canon] = None
    return frame, header_row


def find_files(root: Path, patterns: tuple[str, ...], depth: int = 2) -> list[Path]:
    """Files matching any glob pattern in `root` and up to `depth` levels below, sorted."""
    found: set[Path] = set()
    level = [root]
    for _ in range(depth + 1):
        nxt = []
        for folder in level:
            for pattern in patterns:
                found.update(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("~$"))
            nxt.extend(p for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith("."))
        level = nxt[:200]  # a dataset root has few folders above the frames
    return sorted(found)
