"""The documentation checks itself: links resolve, commands parse, runnable snippets run.

Pages: README.md, docs/*.md and the dataset cards (datasets/*.md). Three checks:
- every relative link (and its #anchor, GitHub's heading slugs) points at something that exists;
- every `mer ...` / `mer-edge ...` command in a fenced code block parses with the current CLI
  (the real argparse parsers from `mer_tf.cli.build_parser` and `edge.cli.build_parser`; nothing runs);
- every fenced block marked ```python run runs, in a fresh interpreter, in a working folder whose
  `datasets/synthetic` is a tiny generated synthetic set (the same layout `make demo` leaves).
So a renamed flag or a moved page breaks this test, not the reader.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "datasets").glob("*.md")])
SHELL_LANGS = {"", "sh", "bash", "shell", "console"}
RUN_MARK = "run"  # ```python run  -> executed by this test


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the first code line
    lang: str
    flags: tuple[str, ...]
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """Fenced blocks (``` or ~~~, possibly indented as in list items)."""
    blocks, lines = [], page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(`{3,}|~{3,})(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.groups()
        words = info.strip().split()
        body, j = [], i + 1
        while j < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        blocks.append(Block(page, i + 2, words[0] if words else "", tuple(words[1:]), "\n".join(body)))
        i = j + 1
    return blocks


def _prose(page: Path) -> str:
    """The page without its fenced blocks and inline code (links inside code are not links)."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^(\s*)(`{3,}|~{3,}).*?^\1\2\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\*|_(?=\w)|(?<=\w)_", "", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _prose(page).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = github_slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def relative_links(page: Path) -> list[tuple[str, str]]:
    links = []
    for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _prose(page)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # http:, https:, mailto:
        links.append((page.relative_to(ROOT).as_posix(), target))
    return links


LINKS = [link for page in PAGES for link in relative_links(page)]


@pytest.mark.parametrize("page,target", LINKS, ids=[f"{p}->{t}" for p, t in LINKS])
def test_relative_link_resolves(page, target):
    path_part, _, anchor = target.partition("#")
    source = ROOT / page
    dest = (source.parent / path_part).resolve() if path_part else source
    assert dest.exists(), f"{page}: link to {target!r}: {dest} does not exist"
    assert ROOT in dest.parents or dest == ROOT, f"{page}: link to {target!r} leaves the repository"
    if anchor:
        assert dest.suffix == ".md", f"{page}: anchor on a non-Markdown target {target!r}"
        assert anchor in anchors(dest), f"{page}: no heading in {dest.name} gives the anchor #{anchor}"


def shell_commands(block: Block) -> list[tuple[str, list[str]]]:
    """`mer ...` and `mer-edge ...` invocations in a shell block, as (program, argv)."""
    out = []
    text = re.sub(r"\\\n\s*", " ", block.text)  # line continuations
    for line in text.splitlines():
        line = re.sub(r"^\s*\$\s+", "", line)  # console prompts
        if not re.search(r"(^|[\s;&|])mer(-edge)?(\s|$)", line):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as err:
            raise AssertionError(f"{block.where}: cannot split {line!r}: {err}") from None
        # a command may follow `&&`, `;`, `|`, `env VAR=x` or a wrapper such as `libcamerify`
        for i, word in enumerate(words):
            if word in ("mer", "mer-edge") and (i == 0 or words[i - 1] in ("&&", ";", "|", "||", "libcamerify", "time")
                                                or "=" in words[i - 1]):
                argv = []
                for w in words[i + 1:]:
                    if w in ("&&", ";", "|", "||", ">", ">>", "2>", "2>&1"):
                        break
                    argv.append(w)
                out.append((word, argv))
    return out


COMMANDS = [
    (block.where, prog, argv)
    for page in PAGES
    for block in code_blocks(page)
    if block.lang in SHELL_LANGS
    for prog, argv in shell_commands(block)
]


def _strict(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """No abbreviated flags: the CLI accepts `--max-f` for `--max-folds`, so a renamed
    `--max-folds` -> `--max-folds-n` would still parse; the docs must spell flags in full."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _strict(sub)
    return parser


def _parser(prog: str) -> argparse.ArgumentParser:
    if prog == "mer":
        from mer_tf.cli import build_parser
    else:
        from edge.cli import build_parser
    return _strict(build_parser())


@pytest.mark.parametrize("where,prog,argv", COMMANDS, ids=[f"{w} {p} {' '.join(a)[:60]}" for w, p, a in COMMANDS])
def test_command_parses(where, prog, argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            _parser(prog).parse_args(argv)
        except SystemExit as exit_:
            assert exit_.code == 0, f"{where}: `{prog} {shlex.join(argv)}` does not parse:\n{err.getvalue().strip()}"


def test_the_docs_show_commands_and_snippets():
    # the checks above would pass vacuously if the pages lost their code or the parser missed it
    assert len(PAGES) >= 10 and len(LINKS) >= 20
    progs = {prog for _, prog, _ in COMMANDS}
    assert progs == {"mer", "mer-edge"} and len(COMMANDS) >= 30
    assert len(SNIPPETS) >= 5


SNIPPETS = [b for page in PAGES for b in code_blocks(page) if b.lang == "python" and RUN_MARK in b.flags]


@pytest.fixture(scope="module")
def docs_cwd(tmp_path_factory):
    """A working folder laid out like a checkout after `make demo`: datasets/synthetic (tiny here)."""
    from mer_tf.datasets.synthetic import generate

    cwd = tmp_path_factory.mktemp("docs")
    generate(cwd / "datasets" / "synthetic", subjects=3, clips_per_class=1, frames=4, size=240, seed=0,
             workers=1, progress=False)
    return cwd


@pytest.mark.parametrize("block", SNIPPETS, ids=[b.where for b in SNIPPETS])
def test_runnable_snippet_runs(block, docs_cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", block.text], cwd=docs_cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{block.where}: the snippet failed:\n{result.stderr[-3000:]}"


def test_readme_is_a_front_door_linking_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "README.md is the front door: move detail into docs/"
    linked = {(ROOT / t.partition("#")[0]).resolve() for _, t in relative_links(ROOT / "README.md")}
    unlinked = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"docs pages not linked from README.md: {unlinked}"


def test_the_rule_tables_in_the_docs_are_the_code_s():
    from mer_tf.ecrl import rules_table_markdown

    assert rules_table_markdown().strip() in (ROOT / "docs" / "ecrl.md").read_text(encoding="utf-8")
