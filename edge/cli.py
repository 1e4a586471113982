"""The `mer-edge` command: run and bench a `.tflite` model on the device.

  mer-edge run MODEL.tflite --source 0|video.mp4|images/ [--events out.jsonl] [--annotate out.mp4]
  mer-edge bench MODEL.tflite [--source ...] [--frames N]

Only NumPy, OpenCV, LiteRT and mer-tf's TensorFlow-free core are used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="the .tflite exported by `mer export` (its metadata gives labels and preprocessing)")
    p.add_argument("--detector", choices=("blazeface", "dlib"), default="blazeface",
                   help="face detector: BlazeFace (fast) or dlib HOG (the paper's)")
    p.add_argument("--landmarks", choices=("mediapipe", "dlib"), default="mediapipe",
                   help="68-point landmarks: MediaPipe face mesh (fast) or dlib")
    p.add_argument("--threads", type=int, default=2, help="LiteRT interpreter threads")
    p.add_argument("--redetect-every", type=int, default=10, metavar="N",
                   help="re-run the detector every N frames while tracking")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate for image folders (default 30) or to override a video's")
    p.add_argument("--ecrl", default=None, metavar="ECRL_JSON",
                   help="calibrated ECRL thresholds (default: ecrl.json beside the model, else built-in)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mer-edge", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="spot and classify micro-expressions on a camera, video or image folder",
                         description="frames -> faces -> landmarks -> neutral baseline -> spotting "
                         "(onset, apex, offset) -> CNN on the apex face -> ECRL -> fusion -> one JSON "
                         "line per micro-expression", formatter_class=_Formatter)
    _common(run)
    run.add_argument("--source", required=True, help="camera index (0), video file, or folder of images")
    run.add_argument("--every-frame", action="store_true",
                     help="also run the CNN, ECRL and fusion on every face of every frame (live labels)")
    run.add_argument("--events", default="-", metavar="OUT_JSONL",
                     help="where the JSON lines go ('-': stdout); the last line is a summary")
    run.add_argument("--annotate", default=None, metavar="OUT_VIDEO",
                     help="write an annotated video (.mp4/.avi): boxes, landmarks, live labels")
    run.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    bench = sub.add_parser("bench", help="per-stage latency, FPS, memory, and the CNN against the peer classifier",
                           formatter_class=_Formatter)
    _common(bench)
    bench.add_argument("--source", default=None,
                       help="camera, video or image folder (default: a 640x480 stream with one real face)")
    bench.add_argument("--frames", type=int, default=300, help="timed frames (after 10 warm-up frames)")
    bench.add_argument("--json", default=None, metavar="OUT_JSON", help="also write the results as JSON")
    return parser


def _options(args):
    from edge.runtime import RunOptions

    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1. Received: {args.threads}")
    if args.redetect_every < 1:
        raise ValueError(f"--redetect-every must be >= 1. Received: {args.redetect_every}")
    return RunOptions(detector=args.detector, landmarks=args.landmarks, threads=args.threads,
                      every_frame=getattr(args, "every_frame", False), redetect_every=args.redetect_every,
                      ecrl=args.ecrl, fps=args.fps)


def _progress(enabled: bool, total: int | None):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="frame", file=sys.stderr, dynamic_ncols=True)


def _run(args) -> int:
    from edge.runtime import run_stream

    bar = _progress(not args.no_progress and args.events != "-", args.max_frames)
    try:
        summary = run_stream(args.model, args.source, _options(args), events=args.events,
                             annotate=args.annotate, max_frames=args.max_frames,
                             on_frame=(lambda frame, views: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    s = summary
    msg = (f"{s.frames} frames ({s.fps:.1f} fps, {s.input_mode} model): {s.events} micro-expression events "
           f"({s.incomplete_events} incomplete); faces seen {s.faces_seen}, lost {s.faces_lost}, "
           f"at most {s.max_faces_in_frame} in a frame; frames without a face {s.frames_without_faces}; "
           f"corrupt frames {s.corrupt_frames}; frame errors {s.frame_errors}")
    if s.first_frame_error:
        msg += f" (first: {s.first_frame_error})"
    if s.ended_early:
        msg += "; the source ended early"
    for note in s.notes:
        msg += f"\n  note: {note}"
    print(msg, file=sys.stderr if args.events == "-" else sys.stdout)
    return 0


def _bench(args) -> int:
    from edge.bench import bench, format_report
    from mer_tf.tflite_metadata import atomic_write

    bar = _progress(True, args.frames + 10)
    try:
        result = bench(args.model, source=args.source, frames=args.frames, options=_options(args),
                       on_frame=(lambda: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    print(format_report(result))
    if args.json:
        atomic_write(args.json, (json.dumps(result, indent=1) + "\n").encode())
        print(f"results: {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.command:
        parser.print_help()
        return 2
    from edge.sources import SourceError

    try:
        return _run(args) if args.command == "run" else _bench(args)
    except (FileNotFoundError, ValueError, SourceError) as err:
        # Bad input before the first frame: one clear line, no traceback.
        print(f"mer-edge {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mer-edge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
