"""ECCNN (pooling 1-3, region layer on/off) and the baselines convert to float32 TFLite with builtin ops only
and match Keras in ai_edge_litert."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="conversion needs TensorFlow (extra [train])")
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="needs ai-edge-litert (extra [edge])")

from mer_tf.models import build_model  # noqa: E402

SIZE = 48  # pooling 3 + 3x3 grid needs >= 24; 48 keeps pooling 1 at a 24x24 map and conversion quick
# Builtin ops these models may use. A Flex (SELECT_TF_OPS) or custom op would show up as a name outside this set.
BUILTIN_OPS = {
    "ADD", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CONCATENATION", "CONV_2D", "FULLY_CONNECTED", "LOG_SOFTMAX",
    "MAX_POOL_2D", "MUL", "PAD",
    "PACK", "RELU", "RESHAPE", "SHAPE", "STRIDED_SLICE", "SUB", "TRANSPOSE",
}


def _convert(model) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex fallback
    return converter.convert()


def _interpreter(content: bytes):
    # Without the default XNNPACK delegate, so the op list is the model's own ops, not "DELEGATE".
    interpreter = litert.Interpreter(
        model_content=content,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter


def _check(model, n=32):
    content = _convert(model)
    interpreter = _interpreter(content)
    op_list = [op["op_name"] for op in interpreter._get_ops_details()]
    ops = set(op_list)
    assert ops <= BUILTIN_OPS, sorted(ops - BUILTIN_OPS)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    assert tuple(out["shape"]) == (1, 7)
    x = np.random.default_rng(7).uniform(-1, 1, size=(n, SIZE, SIZE, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    got = np.empty_like(expected)
    for i in range(n):
        interpreter.set_tensor(inp["index"], x[i : i + 1])
        interpreter.invoke()
        got[i] = interpreter.get_tensor(out["index"])[0]
    assert np.abs(got - expected).max() < 1e-4
    return op_list


@pytest.mark.parametrize("pooling", [1, 2, 3])
@pytest.mark.parametrize("local_region", [True, False])
def test_eccnn_converts_to_builtin_float32_tflite_and_matches_keras(pooling, local_region):
    model = build_model("eccnn", (SIZE, SIZE, 3), 7, pooling_layers=pooling, local_region=local_region)
    ops = _check(model)
    assert ops[-1] == "LOG_SOFTMAX"
    # 3 conv blocks, plus one CONV_2D per region (3x3 grid) when the region layer is on
    assert ops.count("CONV_2D") == 3 + (9 if local_region else 0)
    assert ("ADD" in ops) == local_region  # the residual y = x + f(x)


@pytest.mark.parametrize("name", ["drml", "alexnet", "convnet", "lcn", "ststnet"])
def test_baselines_convert_to_builtin_float32_tflite_and_match_keras(name):
    ops = _check(build_model(name, (SIZE, SIZE, 3), 7))
    if name == "lcn":
        assert "BATCH_MATMUL" in ops  # the locally connected layer, without Flex ExtractImagePatches
