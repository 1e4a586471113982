"""Edge runtime benchmark: per-stage latency, FPS, the CNN against the peer, and memory over a long run.

  python benchmarks/bench_edge.py [--model eccnn_int8.tflite] [--frames 300] [--memory-frames 10000]

Without --model, an ECCNN with untrained weights is exported to int8 first
(TensorFlow is used for that step only): latency does not depend on the weight
values, so the speed figures hold for a trained model of the same shape.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")  # the machine is shared
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def export_untrained_eccnn(folder: Path, size: int = 64) -> Path:
    """An ECCNN (3 pooling layers, LocalRegionLayer) with untrained weights, exported to int8."""
    import numpy as np

    from export.quantization import QuantizationConfig
    from export.tflite_exporter import TFLiteExporter
    from mer_tf.labels import CLASSES
    from mer_tf.models import build_eccnn
    from mer_tf.preprocess import FacePreprocessParams

    model = build_eccnn(input_shape=(size, size, 3), num_classes=len(CLASSES))
    params = FacePreprocessParams(size=size)
    rep = np.random.default_rng(0).random((32, size, size, 3), dtype=np.float32)
    exporter = TFLiteExporter(model, {"labels": list(CLASSES), "preprocess": params.to_dict(),
                                      "model_name": "eccnn-untrained-bench"})
    path = folder / "eccnn_int8.tflite"
    exporter.export(QuantizationConfig.for_int8(rep), path, variant="int8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="an exported .tflite (default: untrained ECCNN int8)")
    parser.add_argument("--source", default=None, help="camera, video or image folder (default: 640x480 one face)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--memory-frames", type=int, default=10_000, help="0 skips the memory check")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--detector", default="blazeface")
    parser.add_argument("--landmarks", default="mediapipe")
    parser.add_argument("--export-to", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.export_to:  # the child process: TensorFlow stays out of the measured process
        export_untrained_eccnn(args.export_to)
        return 0

    from edge.bench import bench, format_report, memory_check
    from edge.runtime import RunOptions

    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        model = args.model
        if model is None:
            import subprocess

            subprocess.run([sys.executable, __file__, "--export-to", tmp], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            model = Path(tmp) / "eccnn_int8.tflite"
        if args.model is None:
            print(f"model: ECCNN int8 with untrained weights (speed only), {model.stat().st_size} bytes")
        options = RunOptions(detector=args.detector, landmarks=args.landmarks, threads=args.threads)
        print(format_report(bench(model, source=args.source, frames=args.frames, options=options)))
        if args.memory_frames:
            m = memory_check(model, frames=args.memory_frames, options=options)
            print(f"\nmemory over {m['frames']} frames (640x480, one face, CNN+ECRL+fusion on every frame): "
                  f"RSS samples (frame, MB) {[(n, round(v, 1)) for n, v in m['samples']]}; "
                  f"growth {m['growth_mb']:+.1f} MB ({m['growth_per_1000_frames_mb']:+.2f} MB per 1000 frames); "
                  f"peak {m['peak_rss_mb']:.0f} MB; frames with faces {m['frames_with_faces']}, "
                  f"frame errors {m['frame_errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
