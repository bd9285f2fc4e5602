"""Writes the int4 weight-only variant of an exported decoder, decoder_model_merged_q4.onnx, with ONNX Runtime's
contrib operator com.microsoft.MatMulNBits and exactly the managed engine's quantized values, so that the two int4
paths (ManagedModelOptions { Quantization = WeightFormat.Int4Symmetric, GroupSize = g } and
OnnxRuntimeBackendOptions.FileVariants["decoder_model_merged"] = "q4") run the same dequantized weights.

Which layers, and how (src/Multimodal.Backends.Managed: Decoder/QuantizationPlan.cs, Kernels/LinearWeight.cs, with
the default Int4Ratio = 1):

  * every MatMul whose B is a 2-D float initializer (directly, or through the Cast from a float16 initializer that
    eng/onnx/export.py writes for weights exact in float16) is a linear layer. B is nn.Linear's weight transposed,
    [K = in_features, N = out_features]; the managed engine quantizes the weight rows (output channels).
  * int4 symmetric ("signed scale", NNCF INT4_SYM), per group of g input channels of one output row:
    scale = (|min| >= max ? |min| : -max) / 8 (so the largest-magnitude element lands on level -8; the scale is
    negative when that element is positive), a scale under float32 epsilon becomes epsilon,
    q = clamp(round_half_even(w / scale), -8, 7), w' = q * scale. All arithmetic in float32.
  * int8 per output row, levels [-127, 127], scale = max|w| / 127 (epsilon floor), for the LM head (the MatMul that
    writes the graph output, as the managed engine keeps the head in int8 whenever int4 is asked for) and for any
    layer whose K the group size does not divide.
  * a MatMul whose output feeds TopK (a mixture-of-experts router) stays float, as the managed engine keeps the
    router as stored. Embeddings, norms and the attention products are not MatMuls with initializer weights; the
    embed_tokens and vision graphs are separate files and are not touched.

MatMulNBits (docs/ContribOperators.md of ONNX Runtime): Y = A @ dequant(B), dequant = (code - zero_point) * scale;
B uint8 [N, k_blocks, block_size * bits / 8], quantized block-wise along K, the first element of a byte in its low
bits; scales [N, k_blocks] of A's type; zero_points optional, default 2^(bits - 1). So the codes are q + 8 (int4,
block_size = g) and q + 128 (int8, each block of a row carrying the row's scale), and no zero_points input is
written: code - 8 = q and code - 128 = q exactly, and (q) * scale is the managed engine's value bit for bit.
accuracy_level is 0 (A is neither quantized nor downcast), as the managed engine multiplies float32 activations.

The output sits next to the input: one file, or, when the input kept its weights in external data (graphs over
2 GB), decoder_model_merged_q4.onnx + one decoder_model_merged_q4.onnx.data.

    /usr/bin/python3 eng/onnx/quantize_int4.py models/llava-tiny/onnx [--group 64] [--check]
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EPSILON = np.float32(np.finfo(np.float32).eps)  # LinearWeight.MachineEpsilon
STEM = "decoder_model_merged"


# ----------------------------------------------------------------------------------------------- the managed engine's math

def clamp_scale(scale):
    """LinearWeight.ClampScale: |scale| < eps -> eps."""
    return np.where(np.abs(scale) < EPSILON, EPSILON, scale).astype(np.float32)


def quantize_int4_symmetric(w, group):
    """w [N, K] float32 -> (levels int8 [N, K] in [-8, 7], scales float32 [N, K / group])."""
    n, k = w.shape
    g = w.reshape(n, k // group, group)
    low = g.min(axis=2)
    high = g.max(axis=2)
    magnitude = np.where(np.abs(low) >= high, np.abs(low), -high).astype(np.float32)
    scales = clamp_scale(magnitude / np.float32(8))
    levels = np.clip(np.round(g / scales[:, :, None]), -8, 7).astype(np.int8)
    return levels.reshape(n, k), scales


def quantize_int8_rows(w):
    """w [N, K] float32 -> (levels int8 [N, K] in [-127, 127], scales float32 [N])."""
    scales = clamp_scale(np.abs(w).max(axis=1) / np.float32(127))
    levels = np.clip(np.round(w / scales[:, None]), -127, 127).astype(np.int8)
    return levels, scales


# ----------------------------------------------------------------------------------------------- MatMulNBits tensors

def pack(levels, bits, block, offset):
    """levels int8 [N, K] -> B uint8 [N, k_blocks, block * bits / 8] of codes level + offset, K padded with code
    `offset` (value 0) up to whole blocks; 4-bit codes two per byte, the even position in the low nibble."""
    n, k = levels.shape
    blocks = -(-k // block)
    codes = np.full((n, blocks * block), offset, dtype=np.uint8)
    codes[:, :k] = (levels.astype(np.int16) + offset).astype(np.uint8)
    codes = codes.reshape(n, blocks, block)
    if bits == 8:
        return codes
    return (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)


def int8_block(k):
    """A block size for a per-row int8 layer: the largest power of two from 128 down to 16 that divides K (else 16,
    padded)."""
    return next((b for b in (128, 64, 32, 16) if k % b == 0), 16)


def dequantize(b, scales, bits, k):
    """What MatMulNBits computes from B and scales without zero points: [N, K] float32, (code - 2^(bits-1)) * scale."""
    n, blocks, _ = b.shape
    if bits == 4:
        codes = np.empty((n, blocks, b.shape[2] * 2), dtype=np.uint8)
        codes[:, :, 0::2] = b & 15
        codes[:, :, 1::2] = b >> 4
    else:
        codes = b
    values = (codes.astype(np.float32) - np.float32(2 ** (bits - 1))) * scales.reshape(n, blocks, 1)
    return values.reshape(n, -1)[:, :k]


# ----------------------------------------------------------------------------------------------- the graph

class Graph:
    def __init__(self, path):
        self.path = path
        self.folder = os.path.dirname(path)
        self.model = onnx.load(path, load_external_data=False)
        g = self.model.graph
        self.inits = {i.name: i for i in g.initializer}
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in g.output}
        self.external = any(uses_external(i) for i in g.initializer)

    def array(self, init):
        """An initializer's value, reading external data from its file (memory-mapped)."""
        if not uses_external(init):
            return numpy_helper.to_array(init)
        info = {e.key: e.value for e in init.external_data}
        dtype = np.dtype(np.uint16 if init.data_type == TensorProto.BFLOAT16
                         else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[init.data_type])
        count = int(np.prod(init.dims)) if init.dims else 1
        data = np.memmap(os.path.join(self.folder, info["location"]), dtype=np.uint8, mode="r",
                         offset=int(info.get("offset", 0)), shape=(int(info["length"]),))
        return np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count).reshape(tuple(init.dims))

    def weight(self, node):
        """The float32 [K, N] weight a MatMul multiplies by, or None when B is not a 2-D float initializer (through at
        most one Cast to float)."""
        name = node.input[1]
        init = self.inits.get(name)
        if init is None:
            cast = self.producer.get(name)
            if cast is None or cast.op_type != "Cast" or cast.input[0] not in self.inits:
                return None
            if next(a.i for a in cast.attribute if a.name == "to") != TensorProto.FLOAT:
                return None
            init = self.inits[cast.input[0]]
        if len(init.dims) != 2 or init.data_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16):
            return None
        if init.data_type == TensorProto.BFLOAT16:
            raw = (self.array(init) if uses_external(init)
                   else np.frombuffer(init.raw_data, dtype="<u2").reshape(tuple(init.dims)))
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return self.array(init).astype(np.float32)


def uses_external(init):
    return init.HasField("data_location") and init.data_location == TensorProto.EXTERNAL


def quantize(path, out_path, group, check):
    graph = Graph(path)
    g = graph.model.graph
    nodes, counts, done, worst = [], {"int4": 0, "int8": 0, "head": 0, "float": 0}, {}, 0.0
    new_inits = []
    for node in g.node:
        weight = graph.weight(node) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if weight is None:
            nodes.append(node)
            continue
        if any(c.op_type == "TopK" for c in graph.consumers.get(node.output[0], [])):
            counts["float"] += 1  # a router: the managed engine keeps it as stored
            nodes.append(node)
            continue
        k, n = weight.shape
        head = node.output[0] in graph.outputs
        bits = 8 if head or k % group != 0 else 4
        key = (node.input[1], bits)
        if key not in done:
            w = np.ascontiguousarray(weight.T)  # [N, K], nn.Linear's layout
            if bits == 4:
                block = group
                levels, scales = quantize_int4_symmetric(w, group)
                b = pack(levels, 4, block, 8)
            else:
                block = int8_block(k)
                levels, row_scales = quantize_int8_rows(w)
                scales = np.repeat(row_scales[:, None], -(-k // block), axis=1)
                b = pack(levels, 8, block, 128)
            scales = np.ascontiguousarray(scales, dtype=np.float32)
            if check:
                restored = dequantize(b, scales, bits, k)
                expected = levels.astype(np.float32) * (scales.reshape(n, -1).repeat(block, axis=1)[:, :k])
                assert np.array_equal(restored, expected), node.name
                worst = max(worst, float(np.abs(restored - w).max() / max(np.abs(w).max(), 1e-30)))
            base = sanitize(node.input[1]) + ("_q4" if bits == 4 else "_q8")
            new_inits += [numpy_helper.from_array(b, base + "_B"), numpy_helper.from_array(scales, base + "_scales")]
            done[key] = (base, block)
            del weight, w, levels, b, scales
        base, block = done[key]
        counts["head" if head else "int4" if bits == 4 else "int8"] += 1
        nodes.append(helper.make_node(
            "MatMulNBits", [node.input[0], base + "_B", base + "_scales"], list(node.output),
            name=(node.name or base) + "_MatMulNBits", domain="com.microsoft",
            K=k, N=n, bits=bits, block_size=block, accuracy_level=0))

    # Drop what only the replaced MatMuls read: the Casts of their float16 weights, and the initializers.
    used = {i for n in nodes for i in n.input} | graph.outputs
    changed = True
    while changed:
        changed = False
        for n in list(nodes):
            if n.op_type == "Cast" and not any(o in used for o in n.output):
                nodes.remove(n)
                changed = True
        used = {i for n in nodes for i in n.input} | graph.outputs
    kept = [i for i in g.initializer if i.name in used]
    for init in kept:
        if uses_external(init):
            onnx.external_data_helper.load_external_data_for_tensor(init, graph.folder)
            init.data_location = TensorProto.DEFAULT
            del init.external_data[:]
    produced = {o for n in nodes for o in n.output}
    value_info = [v for v in g.value_info if v.name in produced]

    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    del g.value_info[:]
    g.value_info.extend(value_info)
    if not any(o.domain == "com.microsoft" for o in graph.model.opset_import):
        graph.model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    graph.model.producer_name = "multimodal eng/onnx/quantize_int4.py"
    graph.model.doc_string = f"int4 symmetric group {group} weight-only (MatMulNBits); LM head int8 per row"

    for stale in (out_path, out_path + ".data"):
        if os.path.exists(stale):
            os.remove(stale)
    size = sum(i.ByteSize() for i in g.initializer)
    if graph.external or size > 1_800_000_000:
        onnx.save_model(graph.model, out_path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(out_path) + ".data", size_threshold=1024)
        onnx.checker.check_model(out_path)
    else:
        onnx.checker.check_model(graph.model)
        onnx.save(graph.model, out_path)
    total = sum(os.path.getsize(p) for p in (out_path, out_path + ".data") if os.path.exists(p))
    print(f"{out_path}: MatMulNBits int4 group {group} x{counts['int4']}, int8 per row: LM head x{counts['head']} and "
          f"K not a multiple of {group} x{counts['int8']}; kept float x{counts['float']}; {total} bytes"
          + (f"; check: round trip exact, max |w' - w| / max|w| = {worst:.3g}" if check else ""))


def sanitize(name):
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="the onnx/ folder holding decoder_model_merged.onnx")
    parser.add_argument("--group", type=int, default=64, choices=(32, 64, 128),
                        help="int4 group size (ManagedModelOptions.GroupSize); default 64")
    parser.add_argument("--check", action="store_true",
                        help="also dequantize every packed weight as MatMulNBits does and compare with the levels")
    args = parser.parse_args()
    path = os.path.join(args.folder, STEM + ".onnx")
    if not os.path.exists(path):
        raise SystemExit(f"{path} does not exist")
    quantize(path, os.path.join(args.folder, STEM + "_q4.onnx"), args.group, args.check)


if __name__ == "__main__":
    sys.exit(main())
