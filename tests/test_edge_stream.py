"""The whole edge loop on real faces: synthetic micro-expression video, several faces, faces that
leave and return, corrupt frames; events, labels and the annotated video."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

import edge_support as es
from edge.runtime import RunOptions, build_runner, run_stream
from edge.sources import ArraySource
from mer_tf.labels import CLASSES

FPS = 100.0  # the synthetic clips mimic high-speed cameras: a clip lasts a fraction of a second
OPTIONS = RunOptions(detector="blazeface", landmarks="mediapipe", threads=1)


@pytest.fixture(scope="module")
def photos():
    from mer_tf.faces.sample_photos import load_sample_photo

    hopper = load_sample_photo("grace_hopper")
    # The astronaut's face is too small for short-range BlazeFace: the second face is a mirrored Hopper.
    return {"grace_hopper": hopper, "mirrored": np.ascontiguousarray(hopper[:, ::-1])}


def _canvas(*faces, size=(320, 240)):
    w, h = size
    canvas = np.full((h, w, 3), 80, np.uint8)
    slot = w // max(1, len(faces))
    for i, face in enumerate(faces):
        scale = min(0.9 * slot / face.shape[1], 0.9 * h / face.shape[0])
        f = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        x0, y0 = i * slot + (slot - f.shape[1]) // 2, (h - f.shape[0]) // 2
        canvas[y0:y0 + f.shape[0], x0:x0 + f.shape[1]] = f
    return canvas


@pytest.fixture(scope="module")
def synthetic_video(tmp_path_factory):
    """A video made with the synthetic generator: one subject's clips, each padded with neutral frames."""
    from mer_tf.datasets import load_dataset
    from mer_tf.datasets.synthetic import generate

    root = tmp_path_factory.mktemp("synth") / "set"
    # amplitude 0.07: clear expressions; at the generator's default 0.035 MediaPipe's landmark
    # jitter is of the same size and about half of the clips are spotted.
    generate(root, subjects=1, clips_per_class=1, seed=0, workers=1, progress=False, amplitude=0.07)
    samples = load_dataset(root, dataset="synthetic").samples
    subject = samples[0].subject
    clips = [s for s in samples if s.subject == subject and s.label7 != "Neutral"][:4]
    frames, truth = [], []
    for s in clips:
        images = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in s.frames]
        lead = [images[s.onset]] * 15
        start = len(frames) + len(lead)
        truth.append((start + s.onset, start + s.offset, s.label7))
        frames += lead + images + [images[s.offset]] * 15
    h, w = frames[0].shape[:2]
    path = root / "clips.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path, len(frames), truth


def test_whole_loop_on_a_synthetic_video(synthetic_video, tmp_path):
    path, n_frames, truth = synthetic_video
    events_path, video_path = tmp_path / "events.jsonl", tmp_path / "annotated.mp4"
    summary = run_stream(es.model_file("int8"), str(path), OPTIONS, events=str(events_path),
                         annotate=str(video_path))
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    events, last = lines[:-1], lines[-1]
    assert last["type"] == "summary" and last["frames"] == n_frames == summary.frames
    assert summary.frames_with_faces >= 0.95 * n_frames and summary.frame_errors == 0
    assert summary.faces_seen >= 1 and summary.corrupt_frames == 0
    assert len(events) == summary.events >= 1
    for e in events:
        assert e["type"] == "micro_expression"
        assert e["onset"]["frame"] <= e["apex"]["frame"] <= e["offset"]["frame"]
        assert e["cnn"]["label"] in CLASSES and set(e["cnn"]["scores"]) == set(CLASSES)
        assert abs(sum(e["cnn"]["scores"].values()) - 1) < 0.01
        assert e["ecrl"]["label"] in (None, *CLASSES)
        assert e["fused"]["label"] in CLASSES and e["fused"]["reason"]
        assert e["input"] == {"mode": "apex"}
    # spotting finds the generator's expressions: most clips have an event whose apex lies inside them
    hits = sum(any(on - 2 <= e["apex"]["frame"] <= off + 2 for e in events) for on, off, _ in truth)
    assert hits >= len(truth) - 1, (truth, [(e["onset"], e["apex"], e["offset"]) for e in events])
    assert len(events) <= len(truth) + 1  # and little else
    cap = cv2.VideoCapture(str(video_path))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n_frames
    cap.release()
    assert not list(tmp_path.glob(".*part*"))  # the temporary file was renamed


@pytest.fixture(scope="module")
def runner_factory():
    return lambda **kw: build_runner(es.model_file("int8"), RunOptions(**{**OPTIONS.__dict__, **kw}))[0]


def test_a_still_face_that_sways_gives_no_events(runner_factory):
    """Head motion, sensor noise and landmark jitter on an unchanging face are not micro-expressions."""
    from edge.bench import moving_face_frames

    events = []
    summary = runner_factory().run(ArraySource(moving_face_frames(150, size=(320, 240)), fps=30),
                                   on_event=events.append)
    assert summary.frames_with_faces == 150 and summary.faces_seen == 1
    assert events == []


def test_several_faces(runner_factory, photos):
    frame = _canvas(photos["grace_hopper"], photos["mirrored"], size=(480, 240))
    runner = runner_factory(every_frame=True)
    views_seen = []
    summary = runner.run(ArraySource([frame] * 12, fps=30), on_frame=lambda f, v: views_seen.append(v))
    assert summary.max_faces_in_frame == 2 and summary.faces_seen == 2 and summary.frame_errors == 0
    last = views_seen[-1]
    assert len({v.face_id for v in last}) == 2
    assert all(v.label in CLASSES for v in last)  # every-frame mode gives live labels


def test_face_that_leaves_and_returns_and_corrupt_frames(runner_factory, photos):
    face = _canvas(photos["grace_hopper"])
    empty = np.full_like(face, 80)
    stream = [face] * 10 + [None] + [face] * 4 + [empty] * 8 + [face] * 10
    summary = runner_factory().run(ArraySource(stream, fps=30))
    assert summary.frames == len(stream) and summary.corrupt_frames == 1
    assert summary.frames_without_faces == 8
    assert summary.faces_lost >= 1 and summary.faces_seen >= 2  # the returning face is tracked afresh
    assert summary.frame_errors == 0


def test_cli_run_on_an_image_folder_with_a_truncated_jpeg(photos, tmp_path):
    face = _canvas(photos["grace_hopper"])
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(12):
        cv2.imwrite(str(frames / f"f{i}.jpg"), face)
    data = (frames / "f5.jpg").read_bytes()
    (frames / "f5.jpg").write_bytes(data[: len(data) // 3])
    events = tmp_path / "ev.jsonl"
    result = subprocess.run([sys.executable, "-m", "edge.cli", "run", str(es.model_file("int8")), "--source",
                             str(frames), "--events", str(events)],  # with the progress bar
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "12 frames" in result.stdout and "corrupt frames 1" in result.stdout
    assert "(corrupt: f5.jpg: truncated image file)" in result.stdout  # named, not only counted
    summary = json.loads(events.read_text().splitlines()[-1])
    assert summary["corrupt_frames"] == 1 and summary["frames_with_faces"] == 11
    assert summary["first_corrupt"] == ["f5.jpg: truncated image file"]
    assert not (tmp_path / "ev.jsonl.partial").exists()


@pytest.mark.parametrize("fps", ["-5", "0", "nan", "inf"])
def test_bad_fps_is_refused_before_the_run(tmp_path, fps, capsys):
    from edge.cli import main

    code = main(["run", str(es.model_file("int8")), "--source", str(tmp_path), "--fps", fps])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--fps must be a positive number" in err[0] and fps in err[0]


def test_bench_on_a_source_shorter_than_its_warm_up(photos, tmp_path, capsys):
    from edge.cli import main

    for i in range(4):
        cv2.imwrite(str(tmp_path / f"f{i}.jpg"), _canvas(photos["grace_hopper"]))
    assert main(["bench", str(es.model_file("int8")), "--source", str(tmp_path), "--frames", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "ended after 4 frames, all of them warm-up (10)" in err and "0 timed frames" not in err


@pytest.mark.parametrize("input_mode", ["apex", "flow"])
def test_fast_path_needs_only_the_edge_extra(photos, tmp_path, input_mode):
    """BlazeFace + MediaPipe landmarks run with TensorFlow, mediapipe and dlib all unimportable."""
    face = _canvas(photos["grace_hopper"])
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(6):
        cv2.imwrite(str(frames / f"f{i}.png"), face)
    code = (
        "import sys\n"
        "for m in ('tensorflow', 'keras', 'mediapipe', 'dlib', 'face_recognition_models', 'skimage', 'matplotlib'):\n"
        "    sys.modules[m] = None\n"
        "from edge.cli import main\n"
        f"sys.exit(main(['run', {str(es.model_file('int8', input_mode))!r}, '--source', {str(frames)!r},"
        f" '--events', {str(tmp_path / 'ev.jsonl')!r}, '--no-progress']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "ev.jsonl").read_text().splitlines()[-1])
    assert summary["frames_with_faces"] == 6 and summary["frame_errors"] == 0


def test_cli_reports_a_video_that_ends_early(photos, tmp_path):
    face = _canvas(photos["grace_hopper"])
    path = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, face.shape[1::-1])
    for i in range(30):
        writer.write(face)
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = subprocess.run([sys.executable, "-m", "edge.cli", "run", str(es.model_file("int8")), "--source",
                             str(path), "--events", str(tmp_path / "ev.jsonl"), "--no-progress"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the source ended early" in result.stdout and "of 30 announced" in result.stdout
    summary = json.loads((tmp_path / "ev.jsonl").read_text().splitlines()[-1])
    assert summary["ended_early"] and 0 < summary["frames"] < 30


def _record(frames: dict):
    """An on_frame hook keeping each frame's image and its faces' landmarks (short videos only)."""
    return lambda f, views: frames.__setitem__(f.index, (f.image, {v.face_id: v.landmarks for v in views}))


def test_flow_model_classifies_the_onset_to_apex_flow(synthetic_video):
    """A flow model's events come from flow_input(neutral crop, apex crop), both cropped with the
    neutral frame's transform as in training; not from the apex face."""
    from edge.sources import open_source
    from mer_tf.flow import flow_input
    from mer_tf.preprocess import align_face, preprocess_face

    path, n_frames, truth = synthetic_video
    runner, info = build_runner(es.model_file("float32", "flow"), OPTIONS)
    assert info.input_mode == runner.input_mode == "flow" and runner.flow_method == "dis"
    frames, events = {}, []
    with open_source(str(path)) as src:
        summary = runner.run(src, on_event=events.append, on_frame=_record(frames))
    assert summary.frames == n_frames and summary.frame_errors == 0
    hits = sum(any(on - 2 <= e["apex"]["frame"] <= off + 2 for e in events) for on, off, _ in truth)
    assert hits >= len(truth) - 1 and len(events) == summary.events
    params = info.preprocess
    for e in events:
        fid, ref, apex = e["face_id"], e["input"]["reference_frame"], e["apex"]["frame"]
        assert e["input"]["mode"] == "flow" and e["input"]["method"] == "dis"
        assert ref < e["onset"]["frame"] <= apex  # the last neutral frame before the onset
        ref_image, ref_faces = frames[ref]
        apex_image, apex_faces = frames[apex]
        onset_crop, _ = align_face(ref_image, ref_faces[fid], params)
        apex_crop, _ = align_face(apex_image, ref_faces[fid], params)  # the onset's transform, as in training
        flow = flow_input(onset_crop, apex_crop, "dis")
        assert flow.min() >= -1 and flow.max() <= 1 and flow[..., 2].min() >= 0
        # close to what training builds from the clip's annotated onset frame (FeatureStore):
        # the reference is a quiet frame, not one of the slow first frames of the rise
        on = next(t[0] for t in truth if t[0] <= apex <= t[1])
        train_onset = frames[on][1][fid]
        train_flow = flow_input(align_face(frames[on][0], train_onset, params)[0],
                                align_face(apex_image, train_onset, params)[0], "dis")
        assert np.corrcoef(flow.ravel(), train_flow.ravel())[0, 1] > 0.8, (on, ref, apex)
        assert np.abs(flow - train_flow).mean() < 0.5 * np.abs(train_flow).mean(), (on, ref, apex)
        want = np.exp(runner.classifier(flow[None])[0])
        got = np.array([e["cnn"]["scores"][c] for c in CLASSES])
        np.testing.assert_allclose(got, want, atol=1e-4)
        # what the apex-face path would have given differs: the check above can fail
        apex_face = preprocess_face(apex_image, apex_faces[fid], params)
        assert np.abs(np.exp(runner.classifier(apex_face[None])[0]) - got).max() > 1e-3


def test_flow_model_every_frame_classifies_neutral_to_current(synthetic_video):
    """--every-frame with a flow model: live labels from the flow between the face's last neutral
    frame and the current one; one crop per face is kept, the neutral frame itself is let go."""
    from edge.sources import open_source
    from mer_tf.flow import flow_input
    from mer_tf.preprocess import align_face

    path, _, truth = synthetic_video
    runner, info = build_runner(es.model_file("int8", "flow"), RunOptions(**{**OPTIONS.__dict__, "every_frame": True}))
    frames, labelled, active = {}, [], []
    with open_source(str(path)) as src:
        for frame in src:  # frame by frame: run() would end the stream (and drop the faces) at the end
            _, views = runner.process(frame)
            _record(frames)(frame, views)
            labelled.append([v.label for v in views])
            active += [frame.index] if views and views[0].active else []
            if len(active) == 3:  # three frames into the first expression
                break
    assert active and active[0] <= truth[0][1]
    assert all(labels and labels[0] in CLASSES for labels in labelled[1:])  # every face after its first frame
    (fid, ref), = runner._neutral.items()
    assert ref.frame_index < active[0]  # frozen at the last quiet frame before the expression
    assert not ref.holds_frame  # only its crop is kept
    stop = active[-1] + 1
    image, faces = frames[stop - 1]
    got = runner.network_input(image, faces[fid], ref)
    onset_crop, _ = align_face(frames[ref.frame_index][0], frames[ref.frame_index][1][fid], info.preprocess)
    np.testing.assert_array_equal(
        got, flow_input(onset_crop, align_face(image, ref.landmarks, info.preprocess)[0], "dis"))


def test_flow_reference_is_the_last_quiet_recent_neutral_frame():
    """The rule that picks a flow model's onset frame, step by step on a real Spotter."""
    from edge import stream
    from edge.sources import Frame
    from edge.spotting import Spotter

    runner = build_runner(es.model_file("int8", "flow"), OPTIONS)[0]
    sp = Spotter()
    sp._threshold = 0.02
    image = np.zeros((48, 64, 3), np.uint8)
    lm = np.random.default_rng(0).uniform(10, 40, (68, 2)).astype(np.float32)

    def step(index, t, learned, raw, active=False):
        before = sp.version
        sp.version += learned
        sp.raw_deviation = raw
        sp._active = {} if active else None
        runner._track_neutral(1, sp, before, Frame(index=index, time=t, image=image.copy()), lm + index)
        return runner._neutral.get(1)

    assert step(0, 0.0, False, 0.0) is None  # nothing learned yet: no reference
    assert step(1, 0.1, True, 0.015).frame_index == 1  # the first learned frame, even if not quiet
    assert step(2, 0.2, True, 0.005).frame_index == 2  # quiet: replaces it
    assert step(3, 0.3, True, 0.015).frame_index == 2  # learned but already rising: kept out
    assert step(4, 0.4, False, 0.004).frame_index == 2  # not learned (moving): kept out
    ref = step(5, 0.2 + stream.MAX_AGE_S + 0.05, True, 0.015)
    assert ref.frame_index == 5  # the reference was too old: any learned frame replaces it
    np.testing.assert_array_equal(ref.landmarks, lm + 5)  # a copy of that frame's landmarks
    assert ref.holds_frame
    assert step(6, 1.5, False, 0.05, active=True) is ref and not ref.holds_frame  # onset: crop made, frame let go
    assert ref.crop(runner.preprocess).shape == (es.SIZE, es.SIZE)
    sp.version = 0  # a reset baseline (a long expression): the reference is stale
    runner._track_neutral(1, sp, 5, Frame(index=7, time=1.6, image=image), lm)
    assert 1 not in runner._neutral


def test_quiet_by_default_and_verbose_on_request(photos, tmp_path):
    """Normal use prints only mer-edge's own lines; -v brings the libraries' (XNNPACK's INFO) back."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"f{i}.jpg"), _canvas(photos["grace_hopper"]))
    base = [sys.executable, "-m", "edge.cli"]
    run = ["run", str(es.model_file("int8")), "--source", str(frames), "--no-progress"]
    quiet = subprocess.run(base + run + ["--events", str(tmp_path / "q.jsonl")], capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout.startswith("3 frames")
    loud = subprocess.run(base + ["-v"] + run + ["--events", str(tmp_path / "v.jsonl")], capture_output=True, text=True)
    assert loud.returncode == 0 and "XNNPACK" in loud.stderr
