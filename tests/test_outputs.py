"""Output safety (mer_tf.outputs + mer_tf.atomic): markers, inputs, modes, temporaries, killed runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mer_tf.atomic import atomic_folder, atomic_write_text
from mer_tf.outputs import MARKER, OutputError, check_file, check_folder, check_outputs, marker_kind


def test_replaces_only_empty_or_same_kind_folders(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out, "model") as tmp:
        (tmp / "a.txt").write_text("1")
    assert marker_kind(out) == "model" and (out / MARKER).is_file()
    with atomic_folder(out, "model") as tmp:  # its own kind: replaced
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "b.txt"]
    with pytest.raises(OutputError, match=r"written by `mer train`, not `mer export`; pass --overwrite"):
        with atomic_folder(out, "export"):
            pass
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"user holds files mer-tf did not write; pass --overwrite"):
        check_folder(user, "model")
    check_folder(user, "model", overwrite=True)  # allowed, explicitly
    (tmp_path / "empty").mkdir()
    check_folder(tmp_path / "empty", "model")
    assert (user / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("relation,out", [("is the", "data"), ("is inside the", "data/sub"), ("contains the", ".")])
def test_inputs_are_refused_even_with_overwrite(tmp_path, relation, out):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(OutputError, match=f"{relation} dataset"):
        check_folder(tmp_path / out, "model", overwrite=True, inputs={"dataset": data})
    if relation != "contains the":  # a file cannot contain a folder
        with pytest.raises(OutputError, match=f"{relation} dataset"):
            check_file(tmp_path / out, inputs={"dataset": data})


def test_current_and_home_folders_are_never_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="current folder"):
        check_folder(".", "synthetic", overwrite=True)
    with pytest.raises(OutputError, match="current folder"):
        check_folder(tmp_path.parent, "model", overwrite=True)


def test_two_outputs_on_one_path_are_refused(tmp_path):
    with pytest.raises(OutputError, match="same path"):
        check_outputs(files={"events file": tmp_path / "a.mp4", "annotated video": tmp_path / "a.mp4"})


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_files_and_folders_get_the_umask_mode(tmp_path, mask):
    code = (
        "import os, sys; os.umask(%d); sys.path[:0] = %r\n"
        "from mer_tf.atomic import atomic_folder, atomic_write_text\n"
        "atomic_write_text(%r, 'x')\n"
        "with atomic_folder(%r, 'model') as t:\n"
        "    atomic_write_text(t / 'f', 'y')\n" % (mask, sys.path, str(tmp_path / "a.txt"), str(tmp_path / "m"))
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # a fresh process: umask is per process
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "m" / "f").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o777 & ~mask


def test_temporaries_of_dead_writers_are_removed_on_the_next_run(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_dir = tmp_path / f".model.tmp-{dead.pid}-abc"
    stale_dir.mkdir()
    (stale_dir / "half.keras").write_text("half")
    stale_file = tmp_path / f".report.json.tmp-{dead.pid}-xyz"
    stale_file.write_text("half")
    live = tmp_path / f".model.tmp-{os.getppid()}-def"  # a running writer's: kept
    live.mkdir()
    with atomic_folder(tmp_path / "model", "model"):
        pass
    atomic_write_text(tmp_path / "report.json", "{}")
    assert not stale_dir.exists() and not stale_file.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [live.name]


def test_a_failed_run_leaves_the_old_folder_and_no_temporary(tmp_path):
    out = tmp_path / "model"
    with atomic_folder(out, "model") as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(out, "model") as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("killed")
    assert (out / "old.txt").read_text() == "old" and not (out / "new.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


# -- mer-edge run: the events log when the run is killed or interrupted ------------------------


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    import cv2

    from mer_tf.faces.sample_photos import load_sample_photo

    face = cv2.resize(load_sample_photo("grace_hopper"), (200, 240))
    path = tmp_path_factory.mktemp("video") / "long.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (200, 240))
    for _ in range(3000):  # about a minute of processing: killed long before the end
        writer.write(face)
    writer.release()
    return path


def _start_run(video: Path, events: Path) -> subprocess.Popen:
    import edge_support as es

    cmd = [sys.executable, "-m", "edge.cli", "run", str(es.model_file("int8")), "--source", str(video),
           "--events", str(events), "--threads", "1", "--no-progress"]
    # A foreground process: a shell starts background jobs (and CI runners may start tests) with SIGINT ignored,
    # which the child would inherit; Ctrl+C reaches a command run in a terminal.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    partial = events.with_name(events.name + ".partial")
    deadline = time.time() + 60
    while not partial.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert partial.exists(), proc.communicate()[1] if proc.poll() is not None else "no .partial after 60 s"
    time.sleep(1.0)  # frames are flowing
    return proc


def test_a_killed_run_leaves_the_previous_events_intact(long_video, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "summary", "previous": true}\n')
    proc = _start_run(long_video, events)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert events.read_text() == '{"type": "summary", "previous": true}\n'
    assert events.with_name("events.jsonl.partial").exists()  # the new log, marked partial by its name


def test_sigint_finishes_the_log_and_exits_130(long_video, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("previous\n")
    proc = _start_run(long_video, events)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    summary = json.loads(events.read_text().splitlines()[-1])
    assert summary["type"] == "summary" and summary["interrupted"] is True and summary["frames"] > 0
    assert not events.with_name("events.jsonl.partial").exists()
    assert "Traceback" not in err


def test_sigterm_keeps_the_previous_events_and_removes_temporaries(long_video, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("previous\n")
    proc = _start_run_annotated(long_video, events, tmp_path / "out.avi")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert events.read_text() == "previous\n"
    assert not [p.name for p in tmp_path.iterdir() if ".part-" in p.name], "the video's temporary is left"
    assert not (tmp_path / "out.avi").exists()


def _start_run_annotated(video: Path, events: Path, annotate: Path) -> subprocess.Popen:
    import edge_support as es

    cmd = [sys.executable, "-m", "edge.cli", "run", str(es.model_file("int8")), "--source", str(video),
           "--events", str(events), "--annotate", str(annotate), "--threads", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not any(".part-" in p.name for p in annotate.parent.iterdir()) and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    time.sleep(0.5)
    return proc
