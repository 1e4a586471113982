"""The demo's one report: everything the steps wrote, read back from their files."""

from __future__ import annotations

import json
from pathlib import Path

from mer_tf.report_page import ReportPage

SYNTH = "synthetic"


def _load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _trained_config(out: Path) -> dict:
    """The demo model folder's config.json; empty when the train step did not finish."""
    from mer_tf.model_folder import ModelFolder

    try:
        return ModelFolder.load(out / "model", require_model=False).config
    except (FileNotFoundError, ValueError):
        return {}


def _scores_rows(scores: dict) -> list[dict]:
    rows = []
    for column in ("cnn", "ecrl", "fused"):
        s = (scores.get(column) or {}).get("all")
        if s:
            rows.append({"predictor": column, "accuracy": s["accuracy"], "UF1": s["uf1"], "UAR": s["uar"],
                         "samples": sum(sum(r) for r in s["confusion"])})
    return rows


def _data_section(rep: ReportPage, out: Path, options) -> None:
    model_cfg = _trained_config(out)
    rep.heading("Data")
    rep.paragraph(f"The synthetic set in {options.data} ({options.subjects} subjects made from real photographs "
                  f"that ship in packages, {options.clips_per_class} clips per class per subject). All numbers in "
                  "this report are on this synthetic set: they show that the system works end to end, not how "
                  "it would score on CASME II, SAMM or SMIC.")
    run = model_cfg.get("run") or {}
    if run:
        rep.table([{"part": k, "subjects": ", ".join(map(str, v)) if isinstance(v, list) else v}
                   for k, v in run.items() if k.endswith("subjects")])


def _train_section(rep: ReportPage, out: Path) -> None:
    rep.heading("Training (deployed model)")
    metrics = _load(out / "model" / "metrics.json") or {}
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))}
    if flat:
        rep.table([flat])
    rep.image(out / "model" / "curves.png", "training curves (synthetic)")


def _loso_section(rep: ReportPage, out: Path) -> None:
    rep.heading("Leave-one-subject-out (synthetic)")
    loso = _load(out / "loso" / "scores.json")
    if not loso:
        rep.paragraph("LOSO did not run.")
        return
    rep.paragraph(f"Protocol: {loso.get('protocol', '')}. Folds run: {loso.get('folds_run')}"
                  + (" (partial)" if loso.get("partial") else "") + ". Pooled over folds (MEGC 2019).")
    rep.table(_scores_rows(loso["scores"]))
    timing = loso.get("ms_per_sample") or {}
    if timing:
        rep.paragraph("Milliseconds per sample, per stage (median):")
        rep.table([{"stage": k, "ms": v} for k, v in timing.items() if isinstance(v, (int, float))])
    for column in ("cnn", "ecrl", "fused"):
        rep.image(out / "loso" / f"confusion_{column}_all.png", f"confusion matrix, {column} (synthetic)")


def _compare_section(rep: ReportPage, out: Path) -> None:
    rep.heading("Float vs quantized (held-out subjects, synthetic)")
    res = _load(out / "compare" / "report.json")
    if not res:
        rep.paragraph("The comparison did not run.")
        return
    rep.paragraph(f"{res['samples']['n']} samples of subjects {', '.join(map(str, res['samples']['subjects']))} "
                  f"({res['samples']['source']}).")
    rows = []
    for name, v in res["variants"].items():
        lat = v["latency"]
        rows.append({"variant": name, "KB": round(v["bytes"] / 1024, 1), "size vs f32": v["size_ratio"],
                     "accuracy": v["cnn"]["accuracy"], "UF1": v["cnn"]["uf1"], "UAR": v["cnn"]["uar"],
                     "fused acc": (v.get("fused") or {}).get("accuracy"), "agreement": v["agreement"],
                     "ms (1 thr)": lat.get("1", {}).get("median_ms"), "ms (2 thr)": lat.get("2", {}).get("median_ms"),
                     "latency vs f32": v["latency_ratio"]})
    rep.table(rows)
    rep.image(out / "compare" / "report.png", "variants side by side (synthetic)")


def _edge_section(rep: ReportPage, out: Path) -> None:
    rep.heading("Edge runtime on a held-out video")
    summary = _load(out / "edge" / "summary.json")
    if not summary:
        rep.paragraph("The edge run did not happen.")
        return
    trained = _trained_config(out)
    rep.paragraph(f"`mer-edge run` on the int8 model, {trained.get('detector', 'dlib')} detector + "
                  f"{trained.get('landmarker', 'dlib')} landmarks (the backends the model and ECRL were trained "
                  f"with), {summary.get('input_mode', trained.get('input', 'apex'))} input. The annotated video is "
                  "edge/annotated.mp4; the events are edge/events.jsonl.")
    keep = ("frames", "frames_with_faces", "frames_without_faces", "faces_seen", "events", "frame_errors", "fps")
    rep.table([{k: summary.get(k) for k in keep}])
    truth = _load(out / "edge" / "holdout.truth.json") or []
    events = []
    path = out / "edge" / "events.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "micro_expression":
                events.append(rec)
    rows = []
    for e in events[:40]:
        frame = {k: (e.get(k) or {}).get("frame") for k in ("onset", "apex", "offset")}
        apex = frame["apex"] if frame["apex"] is not None else -99
        near = [t for t in truth if t["onset_frame"] - 3 <= apex <= t["offset_frame"] + 3]
        rows.append({"face": e.get("face_id"), "time s": e.get("time"), **frame,
                     "CNN": (e.get("cnn") or {}).get("label"),
                     "ECRL": (e.get("ecrl") or {}).get("label"), "fused": (e.get("fused") or {}).get("label"),
                     "rule": (e.get("ecrl") or {}).get("rule"), "truth": near[0]["label"] if near else "-"})
    rep.paragraph(f"{len(events)} micro-expressions spotted; the video holds {len(truth)} clips "
                  "(truth: the clip whose onset..offset contains the spotted apex).")
    rep.table(rows)


def _bench_section(rep: ReportPage, out: Path) -> None:
    rep.heading("Per-stage latency on this machine (edge runtime, int8)")
    bench = _load(out / "edge" / "bench.json")
    if not bench:
        rep.paragraph("The benchmark did not run.")
        return
    rows = [{"stage": k, "calls": v.get("calls"), "median ms/call": v.get("call_median_ms"),
             "p95 ms/call": v.get("call_p95_ms"), "median ms/frame": v.get("frame_median_ms")}
            for k, v in bench["stages"].items()]
    rep.table(rows)
    peer = bench.get("peer_comparison") or {}
    rep.paragraph(f"{bench['frames']} frames, {bench['detector']} + {bench['landmarks']}, {bench['threads']} threads, "
                  f"{bench['fps']:.1f} frames/s. CNN per face: ours {peer.get('ours_median_ms', float('nan')):.3f} ms "
                  f"vs the FER mini-Xception peer {peer.get('peer_median_ms', float('nan')):.3f} ms "
                  f"({peer.get('speedup_vs_peer', float('nan')):.2f}x). Load average during the run: "
                  f"{bench.get('load_average')}.")


def write_demo_report(out: Path, options, steps: dict, holdout: list[str]) -> tuple[Path, Path]:
    """Write `<out>/report.md` and `<out>/report.html` from the steps' artifacts."""
    rep = ReportPage("mer-tf demo report (synthetic data)", Path(out))
    rep.paragraph("Made by `make demo` (`mer demo`). Every figure below was measured in this run on the "
                  "built-in synthetic set; held-out subjects for the export comparison and the edge video: "
                  + ", ".join(holdout) + ".")
    rep.table([{"step": k, "seconds": v.get("seconds"), "reused": v.get("skipped")} for k, v in steps.items()])
    _data_section(rep, Path(out), options)
    _train_section(rep, Path(out))
    _loso_section(rep, Path(out))
    _compare_section(rep, Path(out))
    _edge_section(rep, Path(out))
    _bench_section(rep, Path(out))
    return rep.write("report")
