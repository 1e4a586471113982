"""The main job behind `mer demo`: the whole system end to end on the synthetic set.

data -> train ECCNN (+ calibrate ECRL) -> LOSO (CNN, ECRL, fused) -> export
(float32, float16, dynamic, int8) -> compare -> edge run on a held-out video
-> edge bench -> one report (Markdown + HTML).

It sits on top of everything, like the command line (it imports `export` and
`edge`), which is why it lives in `mer_tf.commands`. Each step writes its
artifacts atomically and is skipped on the next run when they are there
(`rebuild=True` redoes everything).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

STEPS = ("data", "train", "loso", "export", "compare", "edge", "bench", "report")


@dataclass(frozen=True)
class DemoOptions:
    """Settings of the demo; the defaults fit 20 minutes on 2 cores with installation.

    Args:
        out: the run folder (report, model, LOSO, export, edge output).
        data: where the synthetic set is generated (shared with `mer train`'s default).
        subjects, clips_per_class, frames: the synthetic set's size.
        holdout_subjects: subjects kept out of the deployed model's training:
            the float-vs-quantized comparison and the edge video use them.
        epochs: epochs of the deployed model (the config's rule: fixed cosine schedule by default).
        loso_epochs: epochs per LOSO fold.
        max_folds: run only the first N LOSO folds (None: all; the report says so).
        use_ray: LOSO folds as Ray tasks (2 at a time); False runs them inline.
        size: network input side in pixels.
        input: "flow" (onset -> apex optical flow) by default: on the synthetic
            set the apex-frame model (the paper's input) stays near chance
            while the flow model learns (docs/results.md, the ablation); "apex" is one flag away.
        rebuild: redo every step even when its artifacts exist.
        seed: one seed for data, splits and training.
        overwrite: write into `out` even when it holds files mer-tf did not write.
    """

    out: Path = Path("runs/demo")
    data: Path = Path("datasets/synthetic")
    subjects: int = 12
    clips_per_class: int = 2
    frames: int = 12
    holdout_subjects: int = 3
    epochs: int = 30
    loso_epochs: int = 25
    max_folds: int | None = None
    use_ray: bool = True
    size: int = 64
    input: str = "flow"
    rebuild: bool = False
    seed: int = 0
    overwrite: bool = False


@dataclass
class DemoResult:
    report_md: Path
    report_html: Path
    steps: dict[str, dict] = field(default_factory=dict)  # step -> {"seconds", "skipped", ...}


def _holdout(samples, n: int, seed: int) -> list[str]:
    """Deterministic held-out subjects, taken across source groups."""
    import random

    subjects = sorted({s.subject for s in samples})
    if n <= 0 or len(subjects) <= n + 2:
        raise ValueError(
            f"`holdout_subjects`={n} leaves too few training subjects out of {len(subjects)}; "
            "use fewer held-out subjects or generate more subjects."
        )
    rng = random.Random(seed)
    return sorted(rng.sample(subjects, n))


def _write_video(samples, subject: str, path: Path, fps: float = 25.0) -> dict:
    """Concatenate one subject's clips into a 640x480 video, with neutral frames between them."""
    import cv2
    import numpy as np

    from mer_tf.atomic import atomic_write_text

    clips = sorted((s for s in samples if s.subject == subject), key=lambda s: s.sample_id)
    if not clips:
        raise ValueError(f"subject {subject!r} has no clips to put in the edge video")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path} (mp4v codec unavailable)")
    truth, index = [], 0

    def put(image) -> None:
        nonlocal index
        side = 400
        face = cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)
        canvas = np.full((480, 640, 3), 90, np.uint8)
        y0, x0 = (480 - side) // 2, (640 - side) // 2
        canvas[y0:y0 + side, x0:x0 + side] = face
        writer.write(canvas)
        index += 1

    try:
        for sample in clips:
            frames = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in sample.frames]
            if any(f is None for f in frames):
                raise ValueError(f"unreadable frame in {sample.key}")
            for _ in range(15):  # a still, neutral stretch: the runtime's baseline settles
                put(frames[sample.onset])
            start = index
            for f in frames:
                put(f)
            truth.append({"sample": sample.sample_id, "label": sample.label7, "onset_frame": start + sample.onset,
                          "apex_frame": start + sample.apex, "offset_frame": start + sample.offset})
        for _ in range(15):
            put(frames[-1])
    finally:
        writer.release()
    tmp.replace(path)
    atomic_write_text(path.with_suffix(".truth.json"), json.dumps(truth, indent=1))
    return {"frames": index, "clips": len(clips), "truth": truth}


class DemoJob:
    """Runs the demo's steps in order; `on_step(name, message)` reports progress."""

    def __init__(self, options: DemoOptions, on_step: Callable[[str, str], None] | None = None):
        self.o = options
        self.on_step = on_step or (lambda name, message: log.info("%s: %s", name, message))
        self.out = Path(options.out)
        self.steps: dict[str, dict] = {}
        self.force = options.rebuild

    # -- helpers ---------------------------------------------------------
    def _settings_changed(self) -> bool:
        """True when the run folder was built with other settings (then every step is redone)."""
        path = self.out / "demo.json"
        current = options_dict(self.o)
        current.pop("rebuild")
        current.pop("overwrite")
        if path.is_file():
            stored = json.loads(path.read_text())
            if stored != current:
                changed = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
                self.on_step("demo", f"settings changed since the last run ({', '.join(changed)}): rebuilding")
                return True
        return False

    def _skip(self, name: str, marker: Path) -> bool:
        if marker.exists() and not self.force:
            self.steps[name] = {"skipped": True, "seconds": 0.0}
            self.on_step(name, f"already built ({marker}); --rebuild redoes it")
            return True
        return False

    def _timed(self, name: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        value = fn(*args, **kwargs)
        self.steps[name] = {"skipped": False, "seconds": round(time.perf_counter() - t0, 1)}
        self.on_step(name, f"done in {self.steps[name]['seconds']} s")
        return value

    def config(self, **overrides):
        from mer_tf.training.config import TrainConfig

        base = dict(data=str(self.o.data), dataset="synthetic", model="eccnn", size=self.o.size, input=self.o.input,
                    epochs=self.o.epochs, seed=self.o.seed)
        base.update(overrides)
        return TrainConfig().with_overrides(**base)

    def check_outputs(self) -> None:
        """The run folder and the synthetic set folder, before any step (see `mer_tf.outputs`)."""
        from mer_tf.outputs import check_folder

        # The run folder is written into (each step replaces its own subfolder), not replaced whole;
        # it and the set may not hold one another.
        check_folder(self.out, "demo", what="run folder", overwrite=self.o.overwrite,
                     inputs={"synthetic set folder": self.o.data})
        check_folder(self.o.data, "synthetic", what="synthetic set folder")

    # -- steps -----------------------------------------------------------
    def data(self) -> None:
        from mer_tf.datasets.synthetic import generate

        wanted = {"subjects": self.o.subjects, "clips_per_class": self.o.clips_per_class, "frames": self.o.frames,
                  "seed": self.o.seed}
        info = self.o.data / "synthetic.json"
        if info.is_file():
            config = json.loads(info.read_text()).get("config", {})
            if all(config.get(k) == v for k, v in wanted.items()) and not self.o.rebuild:
                self.steps["data"] = {"skipped": True, "seconds": 0.0}
                self.on_step("data", f"already generated ({info}); --rebuild redoes it")
                return
        elif self.o.data.exists() and any(self.o.data.iterdir()):
            raise ValueError(f"{self.o.data} exists but holds no synthetic set (no synthetic.json); "
                             "pass another --data folder or remove it.")
        self.on_step("data", f"generating {self.o.subjects} synthetic subjects into {self.o.data}")
        self._timed("data", generate, self.o.data, overwrite=True, **wanted)
        self.force = True  # new data: everything downstream is rebuilt

    def samples(self):
        from mer_tf.training.samples import load_samples

        return load_samples(self.config())

    def train(self, samples, holdout: list[str]) -> None:
        from mer_tf.training import train

        if self._skip("train", self.out / "model" / "model.keras"):
            return
        train_samples = [s for s in samples if s.subject not in holdout]
        self.on_step("train", f"ECCNN on {len(train_samples)} samples; held out: {', '.join(holdout)}")
        self._timed("train", train, self.config(), self.out / "model", samples=train_samples,
                    overwrite=self.o.overwrite)

    def loso(self, samples) -> None:
        from mer_tf.training import run_loso

        if self._skip("loso", self.out / "loso" / "scores.json"):
            return
        self.on_step("loso", "leave-one-subject-out: CNN, ECRL, fused")
        self._timed("loso", run_loso, self.config(epochs=self.o.loso_epochs), self.out / "loso", samples=samples,
                    use_ray=self.o.use_ray, max_folds=self.o.max_folds, overwrite=self.o.overwrite)

    def export(self) -> None:
        from export.export_model import export_model

        if self._skip("export", self.out / "export" / "export.json"):
            return
        self.on_step("export", "float32, float16, dynamic-range, int8 TFLite")
        self._timed("export", export_model, self.out / "model", self.out / "export", overwrite=self.o.overwrite)

    def compare(self) -> None:
        from export.compare import compare_exports

        if self._skip("compare", self.out / "compare" / "report.json"):
            return
        self.on_step("compare", "float vs quantized on the held-out subjects")
        self._timed("compare", compare_exports, self.out / "export", out_dir=self.out / "compare", latency_runs=50,
                    overwrite=self.o.overwrite)

    def edge(self, samples, holdout: list[str]) -> None:
        from edge.runtime import RunOptions, run_stream

        edge_dir = self.out / "edge"
        if self._skip("edge", edge_dir / "summary.json"):
            return
        video = edge_dir / "holdout.mp4"
        self.on_step("edge", f"writing a 640x480 video of held-out subject {holdout[0]}")
        info = _write_video(samples, holdout[0], video)
        self.on_step("edge", f"mer-edge run on {info['frames']} frames ({info['clips']} clips)")
        # The run uses the face backends the model was trained with (ECRL's thresholds and the
        # flow's alignment were calibrated on them); the benchmark times the fast device path.
        from mer_tf.model_folder import ModelFolder

        trained = ModelFolder.load(self.out / "model").config
        options = RunOptions(detector=trained.get("detector", "dlib"), landmarks=trained.get("landmarker", "dlib"),
                             threads=2)
        summary = self._timed("edge", run_stream, self._int8(), str(video), options,
                              events=str(edge_dir / "events.jsonl"), annotate=str(edge_dir / "annotated.mp4"))
        from mer_tf.atomic import atomic_write_text

        payload = summary.to_dict() if hasattr(summary, "to_dict") else dict(summary)
        atomic_write_text(edge_dir / "summary.json", json.dumps(payload, indent=1, default=str))

    def bench(self) -> None:
        from edge.bench import bench
        from mer_tf.atomic import atomic_write_text

        path = self.out / "edge" / "bench.json"
        if self._skip("bench", path):
            return
        self.on_step("bench", "per-stage latency on the held-out video (BlazeFace + MediaPipe landmarks)")
        result = self._timed("bench", bench, self._int8(), str(self.out / "edge" / "holdout.mp4"), frames=200)
        atomic_write_text(path, json.dumps(result, indent=1, default=str))

    def _int8(self) -> Path:
        manifest = json.loads((self.out / "export" / "export.json").read_text())
        variants = manifest.get("variants", {})
        entry = variants.get("int8")
        if not entry:
            raise RuntimeError(f"the export in {self.out / 'export'} has no int8 variant: {sorted(variants)}")
        return self.out / "export" / entry["file"]

    def run(self) -> DemoResult:
        from mer_tf.commands.demo_report import write_demo_report

        self.check_outputs()
        self.out.mkdir(parents=True, exist_ok=True)
        if not any(self.out.iterdir()):
            from mer_tf.outputs import write_marker

            write_marker(self.out, "demo")
        self.force = self.force or self._settings_changed()
        self.data()
        from mer_tf.atomic import atomic_write_text

        stored = options_dict(self.o)
        stored.pop("rebuild")
        stored.pop("overwrite")
        atomic_write_text(self.out / "demo.json", json.dumps(stored, indent=1))
        samples = self.samples()
        holdout = _holdout(samples, self.o.holdout_subjects, self.o.seed)
        self.train(samples, holdout)
        self.loso(samples)
        self.export()
        self.compare()
        self.edge(samples, holdout)
        self.bench()
        self.on_step("report", "writing the report")
        md, html = write_demo_report(self.out, self.o, self.steps, holdout)
        return DemoResult(md, html, self.steps)


def options_dict(options: DemoOptions) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}
