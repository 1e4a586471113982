"""Write mer_tf/datasets/megc2019_ids.csv (the MEGC 2019 id list) from the official CSV.

The official CSV is ``combined_3_class2_for_optical_flow.csv`` of the public
repository wangzhifengharrison/HTNet. Only the columns that identify a sample
and its label are copied (dataset, sub, filename_o, label): no image data,
no apex, no file names of the derived images.

Usage: python scripts/megc2019_ids.py SOURCE.csv mer_tf/datasets/megc2019_ids.csv [--commit HASH]
Only the standard library is used.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from collections import Counter
from pathlib import Path

COLUMNS = ("dataset", "sub", "filename_o", "label")
CLASSES = ("negative", "positive", "surprise")


def build(source: Path, commit: str) -> str:
    raw = source.read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise SystemExit(f"error: {source} lacks rows or columns {missing}; expected the official CSV "
                         f"with columns {', '.join(COLUMNS)}, ...")
    labels = Counter(CLASSES[int(r["label"])] for r in rows)
    subjects = len({(r["dataset"], r["sub"]) for r in rows})
    out = io.StringIO()
    for line in (
        "MEGC 2019 composite (CASME II + SAMM + SMIC-HS, 3 classes): the official sample ids and labels.",
        "Source: combined_3_class2_for_optical_flow.csv of the public repository wangzhifengharrison/HTNet",
        f"(commit {commit}), sha256 {hashlib.sha256(raw).hexdigest()}.",
        "Columns dataset, sub, filename_o, label copied verbatim; apex, imagename, sub_filename left out.",
        "Sample identifiers and labels only (public metadata): no image data.",
        "label: 0 negative, 1 positive, 2 surprise (the list's counts match MEGC 2019's published 250/109/83).",
        f"{len(rows)} samples, {subjects} subjects: " + ", ".join(f"{c} {labels[c]}" for c in CLASSES) + ".",
        "Regenerate: python scripts/megc2019_ids.py <official csv> mer_tf/datasets/megc2019_ids.csv --commit <hash>",
    ):
        out.write(f"# {line}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([r[c] for c in COLUMNS] for r in rows)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the official combined_3_class2_for_optical_flow.csv")
    parser.add_argument("dest", type=Path, help="where to write the id list")
    parser.add_argument("--commit", default="unknown", help="the HTNet commit the source came from")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"error: source {args.source} does not exist; pass the official CSV", file=sys.stderr)
        return 2
    text = build(args.source, args.commit)
    tmp = args.dest.with_name(args.dest.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.dest)  # atomic: a reader never sees half a list
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
