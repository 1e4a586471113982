"""ModelInfo: what the runtime needs to know about a `.tflite`, read from its metadata only.

Labels and face preprocessing come from the metadata written by `mer export`
(embedded in the `.tflite`, or the sidecar JSON beside it). A model without
metadata, or whose metadata this runtime cannot honour, is refused with a
message that names what was found, never guessed around: a wrong label order or
a wrong crop size would give confident, wrong answers.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mer_tf import tflite_metadata
from mer_tf.labels import CLASSES

log = logging.getLogger(__name__)

OUTPUT_KINDS = ("log_probabilities", "probabilities", "logits")
INPUT_MODES = ("apex", "flow")  # the modes of mer_tf.data.InputSpec this runtime can build


class ModelMetadataError(ValueError):
    """The model's metadata is missing or does not match this runtime."""


@dataclass(frozen=True)
class ModelInfo:
    """A validated model description.

    Args:
        path: the `.tflite` file.
        labels: the class names in output order (the seven classes).
        preprocess: a `mer_tf.preprocess.FacePreprocessParams`.
        variant: "float32", "int8", ...
        output_kind: "log_probabilities" (ECCNN), "probabilities" or "logits".
        meta: the whole metadata dictionary.
        source: "embedded" or the sidecar path it was read from.
        input_mode: what the network was trained on: "apex" (the preprocessed
            apex face) or "flow" (onset -> apex optical flow u, v, strain, from
            `mer_tf.flow.flow_input`). "apex" when the metadata predates the field.
        input_spec: the model's input.json (`mer_tf.data.InputSpec.to_dict()`),
            or None when the metadata has none (apex models only).
        flow_method: the optical-flow method of a flow model ("dis", ...), else None.
    """

    path: Path
    labels: tuple[str, ...]
    preprocess: Any
    variant: str
    output_kind: str
    meta: dict
    source: str
    input_mode: str = "apex"
    input_spec: dict | None = None
    flow_method: str | None = None

    @property
    def input_size(self) -> int:
        return int(self.preprocess.size)

    @classmethod
    def load(cls, path: str | Path) -> ModelInfo:
        """Read and check the metadata of the model at ``path``.

        Raises:
            FileNotFoundError: no such model file.
            ModelMetadataError: no metadata, or metadata this runtime does not support.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Model not found: {path}. Pass the .tflite written by `mer export`.")
        meta, source = _read(path)
        return cls.from_meta(path, meta, source)

    @classmethod
    def from_meta(cls, path: Path, meta: dict, source: str = "embedded") -> ModelInfo:
        """Check ``meta`` against this runtime; raise `ModelMetadataError` naming what was found."""
        name = Path(path).name
        schema, version = meta.get("schema"), meta.get("schema_version")
        if schema != tflite_metadata.SCHEMA or not isinstance(version, int) \
                or not 1 <= version <= tflite_metadata.SCHEMA_VERSION:
            raise ModelMetadataError(
                f"{name}: metadata schema {schema!r} version {version!r} is not supported; this runtime "
                f"reads {tflite_metadata.SCHEMA!r} versions 1..{tflite_metadata.SCHEMA_VERSION}. "
                "Re-export the model with this mer-tf, or upgrade mer-tf on the device.")
        try:
            tflite_metadata.validate(meta)
        except ValueError as err:
            raise ModelMetadataError(f"{name}: {err}") from err
        labels = tuple(meta["labels"])
        if labels != CLASSES:
            raise ModelMetadataError(
                f"{name}: labels {list(labels)} are not the seven classes in order {list(CLASSES)}; "
                "the runtime's spotting, ECRL and fusion work on exactly these. Export a seven-class model.")
        kind = meta["output"].get("kind", "log_probabilities")
        if kind not in OUTPUT_KINDS:
            raise ModelMetadataError(f"{name}: output kind {kind!r} is not one of {OUTPUT_KINDS}.")
        preprocess = _preprocess_params(name, meta["preprocess"])
        shape = meta["input"].get("shape")
        if shape is not None and (len(shape) != 4 or tuple(shape[1:3]) != (preprocess.size, preprocess.size)):
            raise ModelMetadataError(
                f"{name}: preprocess size {preprocess.size} does not match the input shape {list(shape)} "
                "recorded in its metadata.")
        mode, spec, method = _input(name, meta, preprocess)
        return cls(path=Path(path), labels=labels, preprocess=preprocess, variant=meta["variant"],
                   output_kind=kind, meta=meta, source=source, input_mode=mode, input_spec=spec,
                   flow_method=method)

    @property
    def input_channels(self) -> int:
        # A flow input is always u, v, strain, whatever the face crop's channel setting.
        return 3 if self.input_mode == "flow" else int(getattr(self.preprocess, "channels", 3))

    def trained_with(self) -> tuple[str | None, str | None]:
        """(detector, landmarker) the training features were made with, when the metadata says."""
        spec = self.input_spec or {}
        return spec.get("detector"), spec.get("landmarker")

    def check_interpreter(self, input_shape: tuple[int, ...], input_dtype: str) -> None:
        """Check the interpreter's real input against the metadata (a swapped file shows here)."""
        s = self.preprocess.size
        want_c = self.input_channels
        if tuple(input_shape) != (s, s, want_c):
            raise ModelMetadataError(
                f"{self.path.name}: the model's input is {tuple(input_shape)} but its metadata says "
                f"{(s, s, want_c)}: the .tflite and its metadata do not belong together; re-export.")
        meta_dtype = str(self.meta["input"]["dtype"])
        if meta_dtype != str(input_dtype):
            raise ModelMetadataError(
                f"{self.path.name}: input dtype is {input_dtype} but the metadata says {meta_dtype}; re-export.")


def _read(path: Path) -> tuple[dict, str]:
    try:
        return tflite_metadata.read(path), "embedded"
    except tflite_metadata.MetadataError as embedded_err:
        side = tflite_metadata.sidecar_path(path)
        if not side.is_file():
            raise ModelMetadataError(
                f"{path.name} has no usable mer-tf metadata: {embedded_err} No sidecar {side.name} "
                "either. Copy the sidecar JSON next to the model, or export the model with `mer export`."
            ) from embedded_err
        try:
            meta = tflite_metadata.read_sidecar(path)
        except ValueError as err:
            raise ModelMetadataError(str(err)) from err
        model = tflite_metadata.strip(path.read_bytes())
        sha = meta.get("model_sha256")
        if sha is not None and sha != hashlib.sha256(model).hexdigest() and embedded_err.damaged:
            # The model itself is truncated or corrupt: that, not the sidecar, is what to report.
            raise ModelMetadataError(f"{embedded_err} Its sidecar {side.name} cannot stand in for a damaged "
                                     "model: copy the .tflite again, or re-export it.") from embedded_err
        if sha is not None and sha != hashlib.sha256(model).hexdigest():
            raise ModelMetadataError(
                f"{side.name} does not describe {path.name}: the SHA-256 it records differs from the "
                "model's. Copy the sidecar that was exported with this model.")
        log.info("%s: metadata read from the sidecar %s", path.name, side)
        return meta, str(side)


def _input(name: str, meta: dict, preprocess) -> tuple[str, dict | None, str | None]:
    """The input mode, input spec and flow method, checked: a flow model fed apex faces (or the
    reverse) would answer confidently and wrongly, so anything unknown is refused."""
    mode = meta.get("input_mode", "apex")  # metadata written before the field existed: apex models
    if mode not in INPUT_MODES:
        raise ModelMetadataError(
            f"{name}: input_mode {mode!r} is not supported; this runtime builds {list(INPUT_MODES)} inputs. "
            "Upgrade mer-tf on the device, or export a model trained with --input apex or flow.")
    spec = meta.get("input_spec")
    if spec is not None and not isinstance(spec, dict):
        raise ModelMetadataError(f"{name}: 'input_spec' must be a dictionary (input.json). Received: {spec!r}")
    if spec is not None and spec.get("mode", mode) != mode:
        raise ModelMetadataError(
            f"{name}: input_mode {mode!r} disagrees with input_spec mode {spec.get('mode')!r}; re-export the model.")
    if spec is not None and spec.get("preprocess"):
        spec_params = _preprocess_params(name, spec["preprocess"])
        if spec_params != preprocess:
            raise ModelMetadataError(
                f"{name}: the crop parameters of input_spec ({spec_params.to_dict()}) differ from 'preprocess' "
                f"({preprocess.to_dict()}); which one training used is unknown. Re-export the model.")
    if mode == "apex":
        return mode, spec, None
    method = (spec or {}).get("flow_method")
    if method is None:
        raise ModelMetadataError(
            f"{name}: a flow model must record its flow method in input_spec.flow_method; found "
            f"input_spec={spec!r}. Re-export it with `mer export` from a folder that has input.json.")
    from mer_tf.flow import FLOW_METHODS

    if method not in FLOW_METHODS:
        raise ModelMetadataError(
            f"{name}: flow method {method!r} is not supported; this runtime computes {list(FLOW_METHODS)}.")
    if method == "tvl1":
        import cv2

        if not hasattr(cv2, "optflow"):
            raise ModelMetadataError(
                f"{name}: flow method 'tvl1' needs OpenCV's contrib module cv2.optflow, which this OpenCV "
                "lacks; install opencv-contrib-python, or export a model trained with --flow-method dis.")
    if (spec or {}).get("landmarks") == "ground_truth":
        log.warning("%s was trained on ground-truth landmarks; the device uses detected ones", name)
    return mode, spec, method


def _preprocess_params(name: str, found: Any):
    from mer_tf.preprocess import FacePreprocessParams

    if not isinstance(found, dict):
        raise ModelMetadataError(f"{name}: 'preprocess' must be a dictionary. Received: {found!r}")
    try:
        params = FacePreprocessParams.from_dict(found)
    except (TypeError, ValueError, KeyError) as err:
        raise ModelMetadataError(
            f"{name}: preprocess parameters {found} are not supported by this runtime ({err}). "
            "Re-export the model with the same mer-tf version as the device's.") from err
    return params
