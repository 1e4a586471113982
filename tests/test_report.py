import struct
import zlib

from mer_tf.atomic import atomic_write_text
from mer_tf.report_page import ReportPage


def _png(path):
    # a valid 1x1 PNG written by hand (no plotting library needed)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


def test_report_markdown_and_html(tmp_path):
    img = _png(tmp_path / "plots" / "x.png") if (tmp_path / "plots").mkdir() is None else None
    rep = ReportPage("Demo <run>", tmp_path)
    rep.heading("Scores")
    rep.table([{"model": "eccnn", "uf1": 0.51234}, {"model": "int8", "uf1": 0.5}])
    rep.image(img, "a plot")
    rep.image(tmp_path / "nope.png", "missing")
    rep.code("mer demo")
    md, html = rep.write()
    text = md.read_text()
    assert "| model | uf1 |" in text and "| eccnn | 0.5123 |" in text
    assert "![a plot](plots/x.png)" in text
    assert "image missing" in text
    page = html.read_text()
    assert "data:image/png;base64," in page and "Demo &lt;run&gt;" in page


def test_atomic_write_leaves_no_temp(tmp_path):
    atomic_write_text(tmp_path / "a" / "b.txt", "hello")
    assert (tmp_path / "a" / "b.txt").read_text() == "hello"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.txt"]


def test_atomic_folder_replaces_only_on_success(tmp_path):
    import pytest

    from mer_tf.atomic import atomic_folder

    out = tmp_path / "model"
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (out / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("killed")
    assert (out / "a.txt").read_text() == "first"  # the earlier folder survives an interrupted write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary left behind


def test_atomic_json_and_bytes(tmp_path):
    import json

    from mer_tf.atomic import atomic_write_bytes, atomic_write_json

    atomic_write_json(tmp_path / "a.json", {"b": 1, "a": 2}, sort_keys=True)
    assert (tmp_path / "a.json").read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert json.loads((tmp_path / "a.json").read_text()) == {"a": 2, "b": 1}
    atomic_write_bytes(tmp_path / "x.bin", b"\x00\x01")
    assert (tmp_path / "x.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "x.bin"]
