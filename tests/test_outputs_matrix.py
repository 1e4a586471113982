"""Nothing a user owns is ever lost: every writing command against every kind of bad output path.

Each case runs the real command line (`mer_tf.cli.main`, `edge.cli.main`) on a
workspace of real inputs (a synthetic dataset, a trained-looking model folder, an
export folder, a LiteRT model with mer-tf metadata, an image folder and a video)
and of the user's own files. It hashes the whole workspace before and after, and
asserts: exit code 2, one line on stderr that names the bad path, no traceback,
every pre-existing file unchanged and nothing new left behind. Every case fails
in the output check, before any data is read, so the matrix takes seconds.

Read-only: root ignores permission bits, so as root the folder is made immutable
(`chattr +i`, which the kernel enforces for root too); otherwise it is chmod 0555.
Either way the test first proves that a file cannot be created there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import edge_support as es

# output kinds
FILE, FOLDER = "file", "folder"


def _tree(root: Path) -> dict[str, str]:
    """path -> sha256 of every file (and "dir" for every folder) under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _make_read_only(folder: Path) -> str | None:
    """Make `folder` unwritable for this process; returns how, or None if this machine cannot."""
    probe = folder / ".probe"
    attempts = [("chmod 0555", lambda: folder.chmod(0o555))]
    if shutil.which("chattr"):
        attempts.append(("chattr +i", lambda: subprocess.run(["chattr", "+i", str(folder)], check=True,
                                                             capture_output=True)))
    for how, make in attempts:
        try:
            make()
            probe.touch()
        except (OSError, subprocess.CalledProcessError):
            return how  # creating a file failed: it is read-only for us, root included
        probe.unlink()
    return None


def _undo_read_only(folder: Path) -> None:
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The workspace: inputs the commands read, and the user's own files."""
    from mer_tf.datasets.synthetic import generate
    from mer_tf.outputs import write_marker
    from mer_tf.faces.sample_photos import load_sample_photo

    root = tmp_path_factory.mktemp("ws")
    generate(root / "data", subjects=2, clips_per_class=1, frames=4, size=96, seed=0, workers=1, progress=False)
    model = root / "model"  # a model folder as `mer train` writes it (the check runs before it is read)
    model.mkdir()
    for name in ("model.keras", "config.json", "labels.json", "preprocess.json", "input.json"):
        (model / name).write_text("{}\n" if name.endswith(".json") else "keras zip\n")
    write_marker(model, "model")
    export = root / "export"
    export.mkdir()
    shutil.copy(es.model_file("int8"), export / "tiny_int8.tflite")
    write_marker(export, "export")
    shutil.copy(es.model_file("int8"), root / "model.tflite")
    frames = root / "frames"
    frames.mkdir()
    face = cv2.resize(load_sample_photo("grace_hopper"), (160, 200))
    for i in range(4):
        cv2.imwrite(str(frames / f"f{i}.jpg"), face)
    writer = cv2.VideoWriter(str(root / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 200))
    for _ in range(4):
        writer.write(face)
    writer.release()
    user = root / "user"  # the user's own non-empty folder
    user.mkdir()
    (user / "notes.txt").write_text("my notes\n")
    (user / "photo.jpg").write_bytes(np.arange(256, dtype=np.uint8).tobytes())
    (user / "clip.mp4").mkdir()  # a folder named like a video
    (user / "clip.mp4" / "keep.txt").write_text("keep\n")
    (root / "notes.txt").write_text("a file of the user's\n")
    ro = root / "ro"
    ro.mkdir()
    (ro / "inside.txt").write_text("read-only content\n")
    how = _make_read_only(ro)
    yield root, how
    _undo_read_only(ro)


# command -> (tool, argv with OUT standing for the output, output kind, suffix of a file output)
COMMANDS = {
    "mer train --out": ("mer", ["train", "--data", "{data}", "--dataset", "synthetic", "--out", "OUT"], FOLDER, ""),
    "mer loso --out": ("mer", ["loso", "--data", "{data}", "--dataset", "synthetic", "--no-ray", "--out", "OUT"],
                       FOLDER, ""),
    "mer loso --ecrl-only --out": ("mer", ["loso", "--ecrl-only", "--data", "{data}", "--dataset", "synthetic",
                                          "--out", "OUT"], FOLDER, ""),
    "mer ablate --out": ("mer", ["ablate", "--data", "{data}", "--dataset", "synthetic", "--no-ray", "--out", "OUT"],
                         FOLDER, ""),
    "mer evaluate --out": ("mer", ["evaluate", "{model}", "--data", "{data}", "--out", "OUT"], FOLDER, ""),
    "mer export OUT": ("mer", ["export", "{model}", "OUT"], FOLDER, ""),
    "mer compare --out": ("mer", ["compare", "{export}", "--data", "{data}", "--out", "OUT"], FOLDER, ""),
    "mer demo --out": ("mer", ["demo", "--data", "{root}/synth", "--out", "OUT"], FOLDER, ""),
    "mer data synth OUT": ("mer", ["data", "synth", "OUT", "--subjects", "1"], FOLDER, ""),
    "mer data check --json": ("mer", ["data", "check", "{data}", "--json", "OUT"], FILE, ".json"),
    "mer-edge run --events": ("mer-edge", ["run", "{tflite}", "--source", "{frames}", "--events", "OUT"], FILE, ".jsonl"),
    "mer-edge run --annotate": ("mer-edge", ["run", "{tflite}", "--source", "{clip}", "--annotate", "OUT"], FILE, ".mp4"),
    "mer-edge bench --json": ("mer-edge", ["bench", "{tflite}", "--source", "{frames}", "--frames", "3", "--json", "OUT"],
                              FILE, ".json"),
}

# What each command reads: "input itself" and "inside the input" use it.
INPUT = {"mer train --out": "{data}", "mer loso --out": "{data}", "mer loso --ecrl-only --out": "{data}", "mer ablate --out": "{data}",
         "mer evaluate --out": "{model}", "mer export OUT": "{model}", "mer compare --out": "{data}",
         "mer demo --out": "{root}/synth", "mer data check --json": "{data}", "mer-edge run --events": "{frames}",
         "mer-edge run --annotate": "{clip}", "mer-edge bench --json": "{frames}"}  # fmt: skip

KINDS = ("nonexistent parent", "folder where a file is expected", "file where a folder is expected", "read-only",
         "the input itself", "inside the input", "containing the input", "a user's non-empty folder")


def _bad_path(kind: str, command: str) -> str | None:
    """The bad output path of `kind` for `command` (None: the kind does not apply)."""
    _, _, out_kind, suffix = COMMANDS[command]
    name = f"out{suffix}"
    inp = INPUT.get(command)
    if kind == "nonexistent parent":
        # A folder output gets missing parents created (`--out models/eccnn` on a fresh checkout);
        # one that cannot exist is a parent path through a file.
        return f"{{root}}/missing/{name}" if out_kind == FILE else f"{{root}}/notes.txt/sub/{name}"
    if kind == "folder where a file is expected":
        return "{root}/user/clip.mp4" if out_kind == FILE else None
    if kind == "file where a folder is expected":
        return f"{{root}}/notes.txt/{name}" if out_kind == FILE else "{root}/notes.txt"
    if kind == "read-only":
        return f"{{root}}/ro/{name}"
    if kind == "the input itself":
        return inp
    if kind == "inside the input":
        return None if inp is None or inp == "{clip}" else f"{inp}/{name}"
    if kind == "containing the input":
        return "{root}" if out_kind == FOLDER and inp is not None else None
    if kind == "a user's non-empty folder":
        return "{root}/user" if out_kind == FOLDER else "{root}/user/clip.mp4"
    raise AssertionError(kind)


CASES = [(c, k) for c in COMMANDS for k in KINDS if _bad_path(k, c) is not None]


# The output check's refusals (an error about an input would also name the path in some cases).
REFUSALS = ("pass --overwrite", "is inside the", "contains the", "is the ", "does not exist; create it first",
            "is not writable", "is a file, not a folder", "is a folder; give a file name")


def _fill(text: str, root: Path) -> str:
    return text.format(root=root, data=root / "data", model=root / "model", export=root / "export",
                       tflite=root / "model.tflite", frames=root / "frames", clip=root / "clip.mp4")


def _main(tool: str):
    if tool == "mer":
        from mer_tf.cli import main
    else:
        from edge.cli import main
    return main


@pytest.mark.parametrize("command,kind", CASES, ids=[f"{c} | {k}" for c, k in CASES])
def test_bad_output_path_changes_nothing(ws, command, kind, capsys, monkeypatch):
    root, read_only = ws
    if kind == "read-only" and read_only is None:
        pytest.skip("this machine has no way to make a folder read-only for this user (root without chattr)")
    tool, argv, _, _ = COMMANDS[command]
    bad = _fill(_bad_path(kind, command), root)
    argv = [bad if a == "OUT" else _fill(a, root) for a in argv]
    monkeypatch.chdir(root.parent)  # the default outputs (runs/, models/) may not land in the workspace
    before = _tree(root)
    code = _main(tool)(argv)  # an uncaught exception (a traceback) fails the test here
    err = capsys.readouterr().err
    assert code == 2, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert bad in lines[0], lines[0]
    assert any(phrase in lines[0] for phrase in REFUSALS), f"not the output check's refusal: {lines[0]}"
    assert "Traceback" not in err
    assert _tree(root) == before, "files changed, appeared or vanished"


def test_the_matrix_covers_every_writing_command_and_kind():
    """Every command has a case of every kind that applies to its output (the list the README promises)."""
    for command, (_, _, out_kind, _) in COMMANDS.items():
        kinds = {k for c, k in CASES if c == command}
        need = {"nonexistent parent", "file where a folder is expected", "read-only", "a user's non-empty folder"}
        need |= {"folder where a file is expected"} if out_kind == FILE else set()
        need |= {"the input itself"} if command in INPUT else set()
        need |= {"containing the input"} if command in INPUT and out_kind == FOLDER else set()
        assert need <= kinds, (command, need - kinds)


@pytest.mark.parametrize("tool,argv,bad", [
    ("mer", ["train", "--data", "{data}", "--dataset", "synthetic", "--out", "{root}/user"], "{root}/user"),
    ("mer", ["export", "{model}", "{model}"], "{model}"),
    ("mer-edge", ["run", "{tflite}", "--source", "{frames}", "--events", "{root}/missing/e.jsonl"],
     "{root}/missing/e.jsonl"),
])
def test_console_scripts_print_one_line(ws, tool, argv, bad):
    """The installed commands, in a fresh process: one line on stderr, nothing else (no library logs)."""
    root, _ = ws
    exe = Path(sys.executable).with_name(tool)
    before = _tree(root)
    result = subprocess.run([str(exe)] + [_fill(a, root) for a in argv], capture_output=True, text=True,
                            cwd=root.parent, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and _fill(bad, root) in lines[0], result.stderr
    assert result.stdout == ""
    assert _tree(root) == before
