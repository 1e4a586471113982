"""Bundles: one folder or .tar.gz that `mer-edge run|bench|verify` take as they are; bad ones are
refused in one line; writing one never replaces what mer-tf did not make."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import pytest

import edge_support as es
from edge.bundle import Bundle, BundleError, open_bundle
from edge.bundle_writer import write_bundle
from mer_tf.faces import model_files
from mer_tf.outputs import MARKER


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "edge.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def _one_line_error(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An exported model as `mer export` leaves it: .tflite, sidecar and a calibrated ecrl.json beside."""
    from mer_tf.ecrl import ECRL

    d = tmp_path_factory.mktemp("export")
    src = es.model_file("int8")
    shutil.copy2(src, d / "tiny_int8.tflite")
    shutil.copy2(src.with_suffix(".json"), d / "tiny_int8.json")
    ECRL.default().save(d / "ecrl.json")
    return d


@pytest.fixture(scope="module")
def bundle(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles") / "tiny_bundle"
    return write_bundle(model_dir / "tiny_int8.tflite", out)


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    from mer_tf.faces.sample_photos import load_sample_photo

    face = cv2.resize(load_sample_photo("grace_hopper"), (240, 282))
    frame = np.full((360, 480, 3), 80, np.uint8)
    frame[39:321, 120:360] = face
    path = tmp_path_factory.mktemp("video") / "face.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (480, 360))
    for _ in range(20):
        writer.write(frame)
    writer.release()
    return path


def test_bundle_holds_all_a_board_needs_with_sha256_sums(bundle):
    folder = bundle["folder"]
    files = [p for p in __import__("pathlib").Path(folder).rglob("*") if p.is_file()]
    assert (__import__("pathlib").Path(folder) / MARKER).is_file()  # mer-tf made it: a rerun may replace it
    names = sorted(p.relative_to(folder).as_posix() for p in files if p.name != MARKER)
    assert names == sorted(["SHA256SUMS", "bundle.json", "ecrl.json", "tiny_int8.tflite", "tiny_int8.json",
                            *(f"models/{m}" for m in model_files.DEVICE_MODELS)])
    sums = dict(reversed(line.split("  ", 1)) for line in open(f"{folder}/SHA256SUMS").read().splitlines())
    assert set(sums) == set(names) - {"SHA256SUMS"}
    for name, digest in sums.items():  # the format `sha256sum -c` reads
        assert hashlib.sha256(open(f"{folder}/{name}", "rb").read()).hexdigest() == digest
    with tarfile.open(bundle["tarball"]) as tar:
        assert sorted(tar.getnames()) == sorted(f"tiny_bundle/{n}" for n in names)


def test_open_bundle_reads_folder_and_tarball_alike(bundle):
    for path in (bundle["folder"], bundle["tarball"]):
        with open_bundle(path) as b:
            assert isinstance(b, Bundle) and b.model.name == "tiny_int8.tflite"
            assert b.ecrl.name == "ecrl.json" and (b.models_dir / model_files.FULL_RANGE).is_file()
            root = b.root
    assert not root.exists() or str(root) == bundle["folder"]  # the unpacked copy is removed


def test_cli_verify_and_run_a_tarball_with_no_environment(bundle, face_video, tmp_path):
    result = _cli("verify", bundle["tarball"])
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "files match SHA256SUMS" in result.stdout
    # MER_TF_MODELS points at an empty folder: the face models can only come from the bundle.
    empty = tmp_path / "no-models"
    empty.mkdir()
    events = tmp_path / "events.jsonl"
    result = _cli("run", bundle["tarball"], "--source", face_video, "--events", events, "--threads", "1",
                  "--no-progress", env={"MER_TF_MODELS": str(empty)})
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(events.read_text().splitlines()[-1])
    assert summary["frames"] == 20 and summary["frames_with_faces"] == 20


def test_cli_runs_the_attention_mesh_from_a_bundle(bundle, face_video, tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    events = tmp_path / "events.jsonl"
    result = _cli("run", bundle["tarball"], "--source", face_video, "--events", events, "--threads", "1",
                  "--landmarks", "mediapipe-attention", "--max-frames", "6", "--no-progress",
                  env={"MER_TF_MODELS": str(empty)})
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(events.read_text().splitlines()[-1])
    assert summary["frames"] == 6 and summary["frames_with_faces"] == 6 and summary["frame_errors"] == 0


def test_cli_bench_takes_a_bundle_folder(bundle, face_video, tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    result = _cli("bench", bundle["folder"], "--source", face_video, "--frames", "8", "--threads", "1",
                  env={"MER_TF_MODELS": str(empty)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| landmarks |" in result.stdout and "fer_mini_xception_int8.tflite" in result.stdout


def _copy(bundle, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(bundle["folder"], dst)
    return dst


def test_corrupt_bundle_files_are_named(bundle, tmp_path):
    dst = _copy(bundle, tmp_path)
    data = bytearray((dst / "models" / model_files.FACE_MESH).read_bytes())
    data[1000] ^= 0xFF
    (dst / "models" / model_files.FACE_MESH).write_bytes(bytes(data))
    _one_line_error(_cli("verify", dst), f"models/{model_files.FACE_MESH} is corrupt")
    (dst / "ecrl.json").unlink()
    _one_line_error(_cli("run", dst, "--source", "0"), "ecrl.json is missing")


def test_truncated_and_foreign_tarballs_are_refused(bundle, tmp_path):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(open(bundle["tarball"], "rb").read()[:5000])
    _one_line_error(_cli("verify", cut), "cut.tar.gz", "cannot be unpacked")
    _one_line_error(_cli("run", cut, "--source", "0"), "cannot be unpacked")
    foreign = tmp_path / "photos.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        info = tarfile.TarInfo("holiday/readme.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    _one_line_error(_cli("verify", foreign), "not a mer-tf bundle", "bundle.json")
    sneaky = tmp_path / "sneaky.tar.gz"
    with tarfile.open(sneaky, "w:gz") as tar:
        info = tarfile.TarInfo("b/../../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    _one_line_error(_cli("verify", sneaky), "refusing to unpack")
    assert not (tmp_path.parent / "evil.txt").exists()


def test_edited_description_or_sums_are_refused(bundle, tmp_path):
    dst = _copy(bundle, tmp_path)
    meta = json.loads((dst / "bundle.json").read_text())
    (dst / "bundle.json").write_text(json.dumps({**meta, "schema_version": 99}))
    _one_line_error(_cli("verify", dst), "schema version 99")
    (dst / "bundle.json").write_text(json.dumps(meta))  # content changed (indent): the SHA-256 differs
    _one_line_error(_cli("verify", dst), "bundle.json is corrupt")
    (dst / "SHA256SUMS").write_text("not a sum line\n")
    _one_line_error(_cli("verify", dst), "SHA256SUMS line 1")


def test_missing_bundle_and_a_plain_folder(tmp_path):
    _one_line_error(_cli("verify", tmp_path / "nope.tar.gz"), "Bundle not found")
    _one_line_error(_cli("verify", tmp_path), "not a mer-tf bundle")


def test_bundle_never_replaces_what_mer_tf_did_not_make(model_dir, bundle, tmp_path):
    user = tmp_path / "notes"
    user.mkdir()
    (user / "todo.txt").write_text("mine")
    _one_line_error(_cli("bundle", model_dir / "tiny_int8.tflite", user), "is not a mer-tf bundle")
    assert (user / "todo.txt").read_text() == "mine" and len(list(user.iterdir())) == 1
    (tmp_path / "other.tar.gz").write_bytes(b"my backup")
    _one_line_error(_cli("bundle", model_dir / "tiny_int8.tflite", tmp_path / "other"), "other.tar.gz")
    assert (tmp_path / "other.tar.gz").read_bytes() == b"my backup"
    _one_line_error(_cli("bundle", model_dir / "tiny_int8.tflite", model_dir), "contains the model")
    assert (model_dir / "tiny_int8.tflite").is_file()
    with pytest.raises(BundleError, match="contains the model"):
        write_bundle(model_dir / "tiny_int8.tflite", model_dir.parent)


def test_rebundling_replaces_its_own_bundle(model_dir, tmp_path):
    out = tmp_path / "b"
    write_bundle(model_dir / "tiny_int8.tflite", out)
    result = _cli("bundle", model_dir / "tiny_int8.tflite", out)
    assert result.returncode == 0, result.stderr
    assert "b.tar.gz" in result.stdout and "mer-edge run" in result.stdout
    with open_bundle(tmp_path / "b.tar.gz") as b:
        assert b.meta["model_info"]["variant"] == "int8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "b.tar.gz"]  # no temporary leftovers


def test_a_model_the_runtime_refuses_is_not_bundled(tmp_path):
    bad = es.write_model(tmp_path, "bad.tflite", labels=["a", "b"])
    _one_line_error(_cli("bundle", bad, tmp_path / "out"), "bad.tflite")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tar.gz").exists()
