"""A small report writer: Markdown and a self-contained HTML page from one list of blocks.

Used by `mer demo` to put training curves, confusion matrices, the
float-vs-quantized table, the latency table and the spotted events in one
place. Standard library only; both files are written atomically.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mer_tf.atomic import atomic_write_text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return "" if value is None else str(value)


@dataclass
class ReportPage:
    """An ordered list of blocks rendered to Markdown and HTML.

    Args:
        title: the page title.
        root: the folder the report is written to; image paths are stored
            relative to it in Markdown and embedded (base64) in HTML.
    """

    title: str
    root: Path
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    def table(self, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
        if not rows:
            self.paragraph("(no rows)")
            return
        cols = list(columns or rows[0].keys())
        self.blocks.append(("table", (cols, [[_fmt(r.get(c)) for c in cols] for r in rows])))

    def image(self, path: Path, caption: str = "") -> None:
        path = Path(path)
        if path.is_file():
            self.blocks.append(("image", (path, caption)))
        else:
            self.paragraph(f"(image missing: {path})")

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "heading":
                out += ["#" * value[0] + " " + value[1], ""]
            elif kind == "paragraph":
                out += [value, ""]
            elif kind == "code":
                out += ["```", value.rstrip("\n"), "```", ""]
            elif kind == "table":
                cols, rows = value
                out.append("| " + " | ".join(cols) + " |")
                out.append("|" + "---|" * len(cols))
                out += ["| " + " | ".join(r) + " |" for r in rows]
                out.append("")
            elif kind == "image":
                path, caption = value
                rel = os.path.relpath(path, self.root)
                out += [f"![{caption}]({rel})", ""]
        return "\n".join(out)

    def html(self) -> str:
        esc = html.escape
        out = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{esc(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
            "text-align:right}th{background:#eee}img{max-width:100%}pre{background:#f6f6f6;padding:8px;"
            "overflow-x:auto}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        for kind, value in self.blocks:
            if kind == "heading":
                out.append(f"<h{value[0]}>{esc(value[1])}</h{value[0]}>")
            elif kind == "paragraph":
                out.append(f"<p>{esc(value)}</p>")
            elif kind == "code":
                out.append(f"<pre>{esc(value)}</pre>")
            elif kind == "table":
                cols, rows = value
                out.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows]
                out.append("</table>")
            elif kind == "image":
                path, caption = value
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
                out.append(
                    f"<figure><img src='data:{mime};base64,{data}' alt='{esc(caption)}'>"
                    f"<figcaption>{esc(caption)}</figcaption></figure>"
                )
        out.append("</body></html>")
        return "\n".join(out)

    def write(self, stem: str = "report") -> tuple[Path, Path]:
        """Write `<root>/<stem>.md` and `<root>/<stem>.html`; returns both paths."""
        md_path = self.root / f"{stem}.md"
        html_path = self.root / f"{stem}.html"
        atomic_write_text(md_path, self.markdown())
        atomic_write_text(html_path, self.html())
        return md_path, html_path
