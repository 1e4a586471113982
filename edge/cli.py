"""The `mer-edge` command: run and bench a model on the device; make and check bundles.

  mer-edge run BUNDLE|MODEL.tflite --source 0|video.mp4|images/ [--events out.jsonl] [--annotate out.mp4]
  mer-edge bench BUNDLE|MODEL.tflite [--source ...] [--frames N]
  mer-edge bundle MODEL.tflite OUT          (writes OUT/ and OUT.tar.gz: all a board needs)
  mer-edge verify BUNDLE                    (checks every file's SHA-256 and the model's metadata)

A BUNDLE (folder or .tar.gz from `mer-edge bundle` or `mer export --bundle`) brings
its own ecrl.json and face models: no environment variables, nothing to place.

Only NumPy, OpenCV, LiteRT and mer-tf's TensorFlow-free core are used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import contextmanager
from dataclasses import replace


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a bundle (folder or .tar.gz from `mer-edge bundle`), or the .tflite exported "
                   "by `mer export` (its metadata gives labels and preprocessing)")
    p.add_argument("--detector", choices=("blazeface-full", "blazeface", "dlib"), default="blazeface-full",
                   help="face detector: full-range BlazeFace (near and far faces), short-range BlazeFace "
                   "(faces within ~2 m) or dlib HOG (the paper's)")
    p.add_argument("--tile", type=int, default=1920, metavar="PX",
                   help="also search frames larger than 1.25 x PX in overlapping PX tiles (4K: far faces); 0: off")
    p.add_argument("--landmarks", choices=("mediapipe", "mediapipe-attention", "dlib"), default="mediapipe",
                   help="68-point landmarks: MediaPipe face mesh (fast), its attention mesh (eyes and lips "
                        "refined; about 2x the mesh's time) or dlib")
    p.add_argument("--threads", type=int, default=2, help="LiteRT interpreter threads")
    p.add_argument("--redetect-every", type=int, default=10, metavar="N",
                   help="re-run the detector every N frames while tracking")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate for image folders (default 30) or to override a video's")
    p.add_argument("--ecrl", default=None, metavar="ECRL_JSON",
                   help="calibrated ECRL thresholds (default: the bundle's, or ecrl.json beside the model, else built-in)")


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
                     help="where the JSON lines go ('-': stdout); the last line is a summary. While the run "
                     "lasts they go to OUT_JSONL.partial (tail -f it), renamed to OUT_JSONL at the end")
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

    bundle = sub.add_parser("bundle", help="write one folder + .tar.gz holding all a board needs to run a model",
                            description="OUT/ and OUT.tar.gz: the model with its metadata and sidecar, ecrl.json, "
                            "the face model files and a SHA-256 manifest (SHA256SUMS). An existing bundle at OUT "
                            "is replaced; anything else there is refused.", formatter_class=_Formatter)
    bundle.add_argument("model", help="the .tflite exported by `mer export`")
    bundle.add_argument("out", help="the bundle folder to write; OUT.tar.gz is written beside it")
    bundle.add_argument("--ecrl", default=None, metavar="ECRL_JSON",
                        help="calibrated ECRL thresholds (default: ecrl.json beside the model)")
    bundle.add_argument("--models-dir", default=None, metavar="DIR",
                        help="where the face model files are (default: the installed models folder)")
    bundle.add_argument("--no-tarball", action="store_true", help="write only the folder")

    verify = sub.add_parser("verify", help="check a bundle: every SHA-256, its description, the model's metadata",
                            formatter_class=_Formatter)
    verify.add_argument("bundle", help="a bundle folder or .tar.gz")
    return parser


@contextmanager
def _model(args):
    """(model path, options) for the MODEL argument: a bundle is opened (and checked) for the block."""
    from edge.bundle import is_bundle_path, open_bundle

    options = _options(args)
    if not is_bundle_path(args.model):
        yield args.model, options, None
        return
    with open_bundle(args.model) as b:
        ecrl = args.ecrl or (str(b.ecrl) if b.ecrl else None)
        yield str(b.model), replace(options, models_dir=str(b.models_dir), ecrl=ecrl), b


def _check_run_outputs(args) -> None:
    from mer_tf.outputs import check_outputs

    if args.annotate:
        from edge.annotate import Annotator

        Annotator.check_suffix(args.annotate)
    check_outputs(files={"events file": args.events, "annotated video": args.annotate},
                  inputs={"model": args.model, "source": args.source, "ECRL file": args.ecrl})


def _options(args):
    from edge.runtime import RunOptions

    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1. Received: {args.threads}")
    if args.redetect_every < 1:
        raise ValueError(f"--redetect-every must be >= 1. Received: {args.redetect_every}")
    if args.tile != 0 and args.tile < 64:
        raise ValueError(f"--tile must be 0 (off) or at least 64 px. Received: {args.tile}")
    return RunOptions(detector=args.detector, landmarks=args.landmarks, threads=args.threads,
                      every_frame=getattr(args, "every_frame", False), redetect_every=args.redetect_every,
                      ecrl=args.ecrl, fps=args.fps, tile=args.tile or None)


class _LazyProgress:
    """A tqdm bar that appears with the first frame: an error before it stays one clean line."""

    def __init__(self, enabled: bool, total: int | None):
        self.enabled, self.total, self.bar = enabled, total, None

    def update(self, *_args) -> None:
        if self.bar is None and self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                self.enabled = False
                return
            self.bar = tqdm(total=self.total, unit="frame", file=sys.stderr, dynamic_ncols=True)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run(args) -> int:
    from edge.runtime import run_stream

    _check_run_outputs(args)  # before a bundle is opened or anything loads
    with _model(args) as (model, options, _):
        bar = _LazyProgress(not args.no_progress and args.events != "-", args.max_frames)
        try:
            summary = run_stream(model, args.source, options, events=args.events,
                                 annotate=args.annotate, max_frames=args.max_frames, on_frame=bar.update)
        finally:
            bar.close()
    s = summary
    msg = (f"{s.frames} frames ({s.fps:.1f} fps, {s.input_mode} model): {s.events} micro-expression events "
           f"({s.incomplete_events} incomplete); faces seen {s.faces_seen}, lost {s.faces_lost}, "
           f"at most {s.max_faces_in_frame} in a frame; frames without a face {s.frames_without_faces}; "
           f"corrupt frames {s.corrupt_frames}; frame errors {s.frame_errors}")
    if s.first_corrupt:
        msg += f" (corrupt: {', '.join(s.first_corrupt)}{', ...' if s.corrupt_frames > len(s.first_corrupt) else ''})"
    if s.first_frame_error:
        msg += f" (first: {s.first_frame_error})"
    if s.ended_early:
        msg += "; the source ended early"
    for note in s.notes:
        msg += f"\n  note: {note}"
    print(msg, file=sys.stderr if args.events == "-" else sys.stdout)
    return 130 if s.interrupted else 0  # Ctrl+C: the files are complete, but the run did not end by itself


def _bench(args) -> int:
    from edge.bench import bench, format_report
    from mer_tf.outputs import check_file
    from mer_tf.tflite_metadata import atomic_write

    if args.json:  # before the bench, not after it
        check_file(args.json, what="JSON results file",
                   inputs={"model": args.model, "source": args.source, "ECRL file": args.ecrl})
    with _model(args) as (model, options, b):
        bar = _LazyProgress(True, args.frames + 10)
        try:
            result = bench(model, source=args.source, frames=args.frames, options=options,
                           peer=b.peer if b is not None else None, on_frame=bar.update)
        finally:
            bar.close()
        if b is not None:
            result["bundle"] = str(b.source)
    print(format_report(result))
    if args.json:
        atomic_write(args.json, (json.dumps(result, indent=1) + "\n").encode())
        print(f"results: {args.json}")
    return 0


def _bundle(args) -> int:
    from edge.bundle_writer import write_bundle

    r = write_bundle(args.model, args.out, ecrl=args.ecrl, models_dir=args.models_dir, tarball=not args.no_tarball)
    print(f"bundle {r['folder']}" + (f" and {r['tarball']} ({r['bytes'] / 1e6:.1f} MB)" if r["tarball"] else ""))
    print(f"  model {r['model']} ({r['model_info']['variant']}, {r['model_info']['input_mode']} input), "
          f"ecrl {r['ecrl'] or 'none: built-in thresholds'}, face models {', '.join(r['face_models'].values())}")
    print(f"  on the board: mer-edge run {r['tarball'] or r['folder']} --source 0")
    return 0


def _verify(args) -> int:
    from edge.bundle import open_bundle

    with open_bundle(args.bundle) as b:
        d = b.describe()
    print(f"{args.bundle}: OK, {d['files']} files match SHA256SUMS; model {d['model']} ({d['variant']}, "
          f"{d['input_mode']} input {d['input_size']}x{d['input_size']}), ecrl {d['ecrl']}, "
          f"face models {', '.join(d['face_models'])}; made by {d['created_by']}")
    return 0


COMMANDS = {"run": _run, "bench": _bench, "bundle": _bundle, "verify": _verify}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.command:
        parser.print_help()
        return 2
    from mer_tf.quiet import quiet_libraries

    quiet_libraries(args.verbose)  # before LiteRT or OpenCV loads; -v lets their lines through
    from edge.sources import SourceError

    _terminate_cleanly()
    from mer_tf.cli_errors import run_reporting

    # Bad input before the first frame: one clear line, no traceback.
    return run_reporting(lambda: COMMANDS[args.command](args), f"mer-edge {args.command}", args.verbose,
                         (FileNotFoundError, PermissionError, ValueError, SourceError))


def _terminate_cleanly() -> None:
    """SIGTERM unwinds like Ctrl+C would not: temporaries removed, the previous outputs left intact."""
    import signal

    def _exit(signum, frame):
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, _exit)
    except ValueError:  # not the main thread (an embedding application): leave its handlers alone
        pass


if __name__ == "__main__":
    sys.exit(main())
