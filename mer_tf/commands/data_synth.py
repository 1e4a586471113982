"""Generate the synthetic micro-expression set (CASME II layout, coding sheet, ground-truth landmarks).

Faces are real public-domain photos shipped in installed packages (scikit-image's
astronaut, matplotlib's grace_hopper), varied into distinct subjects and moved by
FACS action units at micro-expression amplitudes. Same seed, same set.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", nargs="?", default="datasets/synthetic", help="output folder")
    parser.add_argument("--subjects", type=int, default=12, help="synthetic subjects (cycle over the source photos)")
    parser.add_argument("--clips-per-class", type=int, default=2, help="clips per class per subject")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--size", type=int, default=240, help="frame side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same set)")
    parser.add_argument("--amplitude", type=float, default=0.045, help="unit AU displacement, fraction of face width")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (2 pays off only on an idle machine)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT if it exists (without it, only an empty folder is written into)")
    parser.add_argument("--detection-rate", action="store_true",
                        help="afterwards, measure how often dlib's detector finds the face")


def run(args: argparse.Namespace) -> int:
    import sys
    import time
    from pathlib import Path

    from mer_tf.datasets import load_dataset
    from mer_tf.datasets.synthetic import detection_rate, generate

    if Path(args.out).exists() and not (Path(args.out).is_dir() and not any(Path(args.out).iterdir())) \
            and not args.overwrite:
        print(f"mer: error: {args.out} exists; pass --overwrite to replace it, or choose another folder.",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    out = generate(args.out, subjects=args.subjects, clips_per_class=args.clips_per_class, frames=args.frames,
                   size=args.size, seed=args.seed, amplitude=args.amplitude, workers=args.workers,
                   overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    report = load_dataset(out, dataset="synthetic", verify=False)
    frames = sum(len(s.frames) for s in report.samples)
    print(f"synthetic set written to {out}: {len(report.samples)} clips, {frames} frames, "
          f"{len({s.subject for s in report.samples})} subjects in {seconds:.1f} s")
    print(report.summary())
    if args.detection_rate:
        rate = detection_rate(out, progress=True)
        print(f"dlib face detection (synthetic frames): {rate.detected}/{rate.frames} = {rate.rate:.1%}")
        for subject, (hit, total) in rate.per_subject.items():
            print(f"  {subject}: {hit}/{total}")
    return 0
