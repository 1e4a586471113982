"""One odd thing found in a dataset, and what the loader did about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Quirk:
    """A quirk of a dataset tree or coding sheet, reported, never silently dropped.

    Args:
        dataset: the dataset it belongs to ("casme2", "samm", "smic-hs", ...).
        where: the sample key (dataset/subject/sample), or the file or folder.
        row: the coding sheet's Excel row (1-based, as Excel shows it), or None.
        what: what was odd, with the offending value.
        handled: what the loader did (estimated, skipped and counted, kept, ...).
    """

    dataset: str
    where: str
    row: int | None
    what: str
    handled: str

    def __str__(self) -> str:
        row = f" (row {self.row})" if self.row is not None else ""
        return f"[{self.dataset}] {self.where}{row}: {self.what} -> {self.handled}"

    def to_dict(self) -> dict:
        return asdict(self)
