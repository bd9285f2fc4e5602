"""Builds the tiny ONNX models that test our ONNX Runtime C API binding, and their numpy goldens.

Written to tests/data/onnx/binding/ (each model is a few hundred bytes):

    add.onnx        X float [batch, 3] -> Y = X + X, float [batch, 3]. "batch" is a symbolic dimension.
    kv.onnx         A one-layer KV cache in miniature, laid out like a decoder_model_merged.onnx:
                    x float [1, S, 4], past_key_values.0.key float [1, 1, P, 4]
                    -> present.0.key = Concat(past, Unsqueeze(x @ Wk)) float [1, 1, P + S, 4]
                       logits = ReduceSum(present, axis 2) @ Wo float [1, 1, 5]
                    so the logits depend on every row of the cache, and a cache handed back wrongly shows up.
    types.onnx      ids int64 [n], mask bool [n], h float16 [n], b uint8 [n]
                    -> selected = Where(mask, ids * 2, 0) int64, not_mask = Not(mask) bool,
                       ids32 = Cast(ids) int32, h_as_float = Cast(h) float, b_as_int = Cast(b) int32
    slow.onnx       x float [N, N], trip_count int64 scalar -> y = Loop(trip_count) { s = Tanh(s @ s) } float [N, N].
                    Each iteration is one N x N matmul, so a large trip count keeps Run busy for as long as a
                    cancellation test needs, while the file stays tiny (no weights).

    expected.json   numpy reference outputs (float32 arithmetic, like ONNX Runtime's CPU kernels):
                    add: input and output; kv: the inputs of four steps (a prefill of 3 positions, then 3 single
                    positions, starting from an empty cache) with each step's logits and present; types: inputs and
                    outputs; slow: a 3-iteration run on a small input.

    /usr/bin/python3 eng/onnx/make_binding_test_models.py [--out tests/data/onnx/binding]

Deterministic: a fixed numpy seed gives byte-identical models and goldens. Needs onnx (1.12 is enough) and numpy.
"""

import argparse
import json
import os
import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "tests", "data", "onnx", "binding")

OPSET = 13
IR_VERSION = 8
HIDDEN = 4
VOCAB = 5
KV_STEPS = [3, 1, 1, 1]  # positions per step: a prefill, then single-token decode steps
SLOW_N = 8               # the small golden run of slow.onnx; tests may feed a larger x


def save(model, out, name):
    onnx.checker.check_model(model)
    path = os.path.join(out, name)
    onnx.save(model, path)
    return path


def make_model(graph):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="multimodal-binding-tests")
    model.ir_version = IR_VERSION
    return model


def tensor_json(array):
    array = np.asarray(array)
    if array.dtype == np.bool_:
        data = [bool(v) for v in array.reshape(-1)]
    elif np.issubdtype(array.dtype, np.integer):
        data = [int(v) for v in array.reshape(-1)]
    else:
        data = [float(v) for v in array.reshape(-1)]
    return {"shape": list(array.shape), "data": data}


def add_model(out):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 3])
    graph = helper.make_graph([helper.make_node("Add", ["X", "X"], ["Y"])], "add", [x], [y])
    save(make_model(graph), out, "add.onnx")
    inp = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    return {"X": tensor_json(inp), "Y": tensor_json(inp + inp)}


def kv_model(out, rng):
    wk = rng.standard_normal((HIDDEN, HIDDEN)).astype(np.float32)
    wo = rng.standard_normal((HIDDEN, VOCAB)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "Wk"], ["k"]),
        helper.make_node("Unsqueeze", ["k", "axis1"], ["k4"]),
        helper.make_node("Concat", ["past_key_values.0.key", "k4"], ["present.0.key"], axis=2),
        helper.make_node("ReduceSum", ["present.0.key", "axis2"], ["pooled"], keepdims=0),
        helper.make_node("MatMul", ["pooled", "Wo"], ["logits"]),
    ]
    inits = [
        numpy_helper.from_array(wk, "Wk"),
        numpy_helper.from_array(wo, "Wo"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "sequence_length", HIDDEN]),
        helper.make_tensor_value_info("past_key_values.0.key", TensorProto.FLOAT, [1, 1, "past_sequence_length", HIDDEN]),
    ]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, VOCAB]),
        helper.make_tensor_value_info("present.0.key", TensorProto.FLOAT, [1, 1, "total_sequence_length", HIDDEN]),
    ]
    save(make_model(helper.make_graph(nodes, "kv", inputs, outputs, inits)), out, "kv.onnx")

    past = np.zeros((1, 1, 0, HIDDEN), dtype=np.float32)
    steps = []
    for length in KV_STEPS:
        x = rng.standard_normal((1, length, HIDDEN)).astype(np.float32)
        k = (x @ wk)[:, None, :, :]
        present = np.concatenate([past, k], axis=2)
        logits = present.sum(axis=2) @ wo
        steps.append({"x": tensor_json(x), "logits": tensor_json(logits), "present": tensor_json(present)})
        past = present
    return {"steps": steps}


def types_model(out):
    n = "n"
    nodes = [
        helper.make_node("Mul", ["ids", "two"], ["ids2"]),
        helper.make_node("Where", ["mask", "ids2", "zero"], ["selected"]),
        helper.make_node("Not", ["mask"], ["not_mask"]),
        helper.make_node("Cast", ["ids"], ["ids32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["h"], ["h_as_float"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["b"], ["b_as_int"], to=TensorProto.INT32),
    ]
    inits = [
        numpy_helper.from_array(np.array(2, dtype=np.int64), "two"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
    ]
    inputs = [
        helper.make_tensor_value_info("ids", TensorProto.INT64, [n]),
        helper.make_tensor_value_info("mask", TensorProto.BOOL, [n]),
        helper.make_tensor_value_info("h", TensorProto.FLOAT16, [n]),
        helper.make_tensor_value_info("b", TensorProto.UINT8, [n]),
    ]
    outputs = [
        helper.make_tensor_value_info("selected", TensorProto.INT64, [n]),
        helper.make_tensor_value_info("not_mask", TensorProto.BOOL, [n]),
        helper.make_tensor_value_info("ids32", TensorProto.INT32, [n]),
        helper.make_tensor_value_info("h_as_float", TensorProto.FLOAT, [n]),
        helper.make_tensor_value_info("b_as_int", TensorProto.INT32, [n]),
    ]
    save(make_model(helper.make_graph(nodes, "types", inputs, outputs, inits)), out, "types.onnx")

    ids = np.array([5, -3, 7, 1 << 40], dtype=np.int64)
    mask = np.array([True, False, True, True])
    h = np.array([0.5, -1.25, 2.0, 65504.0], dtype=np.float16)
    b = np.array([0, 1, 128, 255], dtype=np.uint8)
    return {
        "ids": tensor_json(ids), "mask": tensor_json(mask), "h": tensor_json(h.astype(np.float32)), "b": tensor_json(b),
        "selected": tensor_json(np.where(mask, ids * 2, 0)), "not_mask": tensor_json(~mask),
        "ids32": tensor_json(ids.astype(np.int32)), "h_as_float": tensor_json(h.astype(np.float32)),
        "b_as_int": tensor_json(b.astype(np.int32)),
    }


def slow_model(out, rng):
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("MatMul", ["s_in", "s_in"], ["product"]),
            helper.make_node("Tanh", ["product"], ["s_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("s_in", TensorProto.FLOAT, ["N", "N"]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("s_out", TensorProto.FLOAT, ["N", "N"]),
        ],
    )
    nodes = [helper.make_node("Loop", ["trip_count", "", "x"], ["y"], body=body)]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "N"]),
        helper.make_tensor_value_info("trip_count", TensorProto.INT64, []),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "N"])]
    save(make_model(helper.make_graph(nodes, "slow", inputs, outputs)), out, "slow.onnx")

    x = (rng.standard_normal((SLOW_N, SLOW_N)) / np.sqrt(SLOW_N)).astype(np.float32)
    s = x
    for _ in range(3):
        s = np.tanh(s @ s).astype(np.float32)
    return {"x": tensor_json(x), "trip_count": 3, "y": tensor_json(s)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20251122)
    expected = {
        "add": add_model(args.out),
        "kv": kv_model(args.out, rng),
        "types": types_model(args.out),
        "slow": slow_model(args.out, rng),
    }
    text = json.dumps(expected, indent=1)
    # One line per number list keeps the goldens readable and small.
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + re.sub(r"\s*,\s*", ", ", m.group(1)) + "]", text)
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    for name in sorted(os.listdir(args.out)):
        print(f"{name}: {os.path.getsize(os.path.join(args.out, name))} bytes")


if __name__ == "__main__":
    main()
