"""edge.sources: image folders with corrupt files, None frames, videos that end early, missing cameras."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from edge.sources import ArraySource, CaptureSource, ImageFolderSource, SourceError, as_bgr, open_source


def _jpeg(value: int, shape=(24, 32)) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((*shape, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


def test_image_folder_natural_order_and_corrupt_files(tmp_path):
    for n in (1, 2, 10):
        (tmp_path / f"img{n}.jpg").write_bytes(_jpeg(10 * n))
    good = _jpeg(200)
    (tmp_path / "img3.jpg").write_bytes(good[: len(good) // 2])  # truncated JPEG
    (tmp_path / "img4.bmp").write_bytes(b"not a bitmap at all")  # garbage
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageFolderSource)
    frames = list(src)
    assert [f.name for f in frames] == ["img1.jpg", "img2.jpg", "img3.jpg", "img4.bmp", "img10.jpg"]
    assert [f.image is None for f in frames] == [False, False, True, True, False]
    assert frames[2].error == "truncated image file" and "decodable" in frames[3].error
    assert frames[4].image.shape == (24, 32, 3) and abs(int(frames[4].image.mean()) - 100) <= 2
    assert src.stats.frames == 5 and src.stats.corrupt == 2
    assert frames[1].time == pytest.approx(1 / 30)


def test_array_source_none_and_odd_frames():
    gray = np.zeros((20, 20), np.uint8)
    bgra = np.zeros((20, 20, 4), np.uint8)
    frames = list(ArraySource([gray, None, np.zeros((20, 20), np.float32), bgra, np.zeros((4, 4), np.uint8)],
                              fps=10))
    assert [f.image is None for f in frames] == [False, True, True, False, True]
    assert frames[0].image.shape == (20, 20, 3) and frames[3].image.shape == (20, 20, 3)
    assert frames[1].error == "frame is None" and "float32" in frames[2].error
    assert frames[3].time == pytest.approx(0.3)
    assert as_bgr("x")[1].startswith("frame is a str")
    with pytest.raises(ValueError, match="fps"):
        ArraySource([], fps=0)


def _avi(path, n=40):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(n):
        w.write(np.full((48, 64, 3), 5 * i, np.uint8))
    w.release()


def test_video_reads_all_frames(tmp_path):
    path = tmp_path / "clip.avi"
    _avi(path)
    with open_source(str(path)) as src:
        frames = list(src)
    assert len(frames) == 40 and src.fps == pytest.approx(25)
    assert not src.stats.ended_early and src.stats.corrupt == 0
    assert frames[-1].time == pytest.approx(39 / 25)


def test_video_that_ends_early_is_reported(tmp_path):
    path = tmp_path / "cut.avi"
    _avi(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header still announces 40 frames
    with open_source(str(path)) as src:
        frames = list(src)
    assert 0 < len(frames) < 40
    assert all(f.image is not None for f in frames)
    assert src.stats.ended_early and "of 40 announced" in src.stats.notes[0]


def test_sources_that_cannot_be_opened(tmp_path):
    with pytest.raises(SourceError, match="Camera 57 could not be opened"):
        CaptureSource(57)
    with pytest.raises(SourceError, match="not a camera index, a video file or a folder"):
        open_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(SourceError, match="No images"):
        open_source(str(tmp_path))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="could not be opened by OpenCV"):
        open_source(str(junk))


def test_cli_reports_a_camera_that_cannot_be_opened():
    import edge_support as es

    model = es.model_file("int8")
    result = subprocess.run([sys.executable, "-m", "edge.cli", "run", str(model), "--source", "57"],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Camera 57 could not be opened" in result.stderr and "Traceback" not in result.stderr
