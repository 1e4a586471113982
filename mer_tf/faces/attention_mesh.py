"""MediaPipe's attention face mesh (refined lips, eyes and irises) in LiteRT, with no custom ops.

LiteRT cannot run ``face_landmark_with_attention.tflite`` whole: it needs three MediaPipe
operators (`mer_tf.faces.mediapipe_ops`). So the graph is cut at them when the model is loaded:
each run of builtin operators between custom ones becomes a small ``.tflite`` of its own (the
same tensors and weights, a subset of the operators), run by LiteRT with XNNPACK; the custom
operators run in NumPy in between. The model file itself is unchanged; nothing is written to
disk. Reading and rewriting the flatbuffer uses ``ai_edge_litert.schema_py_generated`` and the
``flatbuffers`` package, both of LiteRT's own wheel: no TensorFlow, no mediapipe.

The refinement is MediaPipe's (``tensors_to_face_landmarks_with_attention.pbtxt``): the lips'
80 and each eye's 71 refined points replace those mesh vertices' x, y; the irises add 468-477.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mer_tf.faces import mediapipe_ops as ops
from mer_tf.quiet import native_stderr_to_log

log = logging.getLogger(__name__)

CUSTOM = ("Landmarks2TransformMatrix", "TransformTensorBilinear", "TransformLandmarks")

# Which mesh vertices each refined region replaces (MediaPipe's LandmarksRefinementCalculator options).
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
        78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
        76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
        62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407)
LEFT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
            130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,
            226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,
            35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245,
            156, 70, 63, 105, 66, 107, 55, 193)
RIGHT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
             359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
             446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
             265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465,
             383, 300, 293, 334, 296, 336, 285, 417)
OUTPUTS = ("output_mesh_identity", "output_lips", "output_left_eye", "output_right_eye",
           "output_left_iris", "output_right_iris", "conv_faceflag")


class AttentionMesh:
    """``face_landmark_with_attention.tflite`` as LiteRT segments and NumPy custom operators.

    Call it with a (1, 192, 192, 3) float32 RGB crop in [0, 1]; it returns the refined (478, 3)
    mesh in crop pixels (x, y refined; z the mesh's) and the face-presence logit.

    Args:
        path: the model file.
        num_threads: LiteRT threads for each segment.
    """

    def __init__(self, path: str | Path, num_threads: int = 1):
        from ai_edge_litert import schema_py_generated as schema
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        data = self.path.read_bytes()
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
        if len(model.subgraphs) != 1:
            raise ValueError(f"{self.path}: {len(model.subgraphs)} subgraphs; the attention mesh has one.")
        g = model.subgraphs[0]
        names = [t.name.decode() for t in g.tensors]
        custom = {i: c.customCode.decode() for i, c in enumerate(model.operatorCodes) if c.customCode}
        unknown = sorted(set(custom.values()) - set(CUSTOM))
        if unknown:
            raise ValueError(f"{self.path} needs custom operators {unknown} that mer-tf does not implement.")
        constant = {i for i, t in enumerate(g.tensors) if model.buffers[t.buffer].data is not None
                    and len(model.buffers[t.buffer].data) > 0}
        # the steps: builtin runs (segments) and single custom operators, in the graph's order
        steps: list[tuple[str, list]] = []
        for op in g.operators:
            if op.opcodeIndex in custom:
                steps.append((custom[op.opcodeIndex], [op]))
            elif steps and steps[-1][0] == "segment":
                steps[-1][1].append(op)
            else:
                steps.append(("segment", [op]))
        consumed_later = [set() for _ in steps]  # tensors a later step (or the graph's output) reads
        later: set[int] = set(int(i) for i in g.outputs)
        for k in range(len(steps) - 1, -1, -1):
            consumed_later[k] = set(later)
            for op in steps[k][1]:
                later.update(int(i) for i in op.inputs if i >= 0)
        self._steps: list[tuple] = []
        keep_ops, keep_in, keep_out = g.operators, g.inputs, g.outputs
        try:
            for k, (kind, op_list) in enumerate(steps):
                if kind != "segment":
                    op = op_list[0]
                    self._steps.append((kind, [int(i) for i in op.inputs], int(op.outputs[0]),
                                        ops.options(op.customOptions), tuple(g.tensors[op.outputs[0]].shape)))
                    continue
                made = {int(i) for op in op_list for i in op.outputs}
                read = {int(i) for op in op_list for i in op.inputs if i >= 0}
                inputs = sorted(read - made - constant)
                outputs = sorted(made & consumed_later[k])
                g.operators, g.inputs, g.outputs = op_list, np.array(inputs, np.int32), np.array(outputs, np.int32)
                blob = _pack(model, schema)
                with native_stderr_to_log(log, "LiteRT"):
                    it = Interpreter(model_content=blob, num_threads=num_threads)
                    it.allocate_tensors()
                self._steps.append(("segment", it, [(t, it.get_input_details()[j]["index"]) for j, t in enumerate(inputs)],
                                    [(t, it.get_output_details()[j]["index"]) for j, t in enumerate(outputs)]))
        finally:
            g.operators, g.inputs, g.outputs = keep_ops, keep_in, keep_out
        self._input = int(g.inputs[0])
        self._outputs = {names[int(i)]: int(i) for i in g.outputs}
        missing = [n for n in OUTPUTS if n not in self._outputs]
        if missing:
            raise ValueError(f"{self.path} lacks the outputs {missing} of the attention mesh.")

    def run(self, crop: np.ndarray) -> dict[str, np.ndarray]:
        """Every output tensor of the model by name, for a (1, 192, 192, 3) float32 crop."""
        values = {self._input: np.asarray(crop, np.float32)}
        for step in self._steps:
            if step[0] == "segment":
                _, it, inputs, outputs = step
                for tensor, index in inputs:
                    it.set_tensor(index, values[tensor])
                it.invoke()
                for tensor, index in outputs:
                    values[tensor] = it.get_tensor(index)
                continue
            kind, inputs, output, opts, shape = step
            if kind == "Landmarks2TransformMatrix":
                values[output] = ops.landmarks_to_transform_matrix(values[inputs[0]], opts)
            elif kind == "TransformTensorBilinear":
                values[output] = ops.transform_tensor_bilinear(values[inputs[0]], values[inputs[1]],
                                                               int(shape[1]), int(shape[2]))
            else:
                values[output] = ops.transform_landmarks(values[inputs[0]], values[inputs[1]])
        return {name: values[i] for name, i in self._outputs.items()}

    def __call__(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """The refined (478, 3) float64 mesh in crop pixels, and the face-presence logit."""
        out = self.run(crop)
        mesh = np.zeros((478, 3))
        mesh[:468] = out["output_mesh_identity"].reshape(468, 3)
        for name, index in (("output_lips", LIPS), ("output_left_eye", LEFT_EYE), ("output_right_eye", RIGHT_EYE)):
            mesh[list(index), :2] = out[name].reshape(-1, 2)
        for name, first, eye in (("output_left_iris", 468, LEFT_EYE[:16]), ("output_right_iris", 473, RIGHT_EYE[:16])):
            mesh[first:first + 5, :2] = out[name].reshape(5, 2)
            mesh[first:first + 5, 2] = mesh[list(eye), 2].mean()  # the eye contour's mean depth, as MediaPipe
        return mesh, float(out["conv_faceflag"].ravel()[0])


def _pack(model, schema) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(4 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
