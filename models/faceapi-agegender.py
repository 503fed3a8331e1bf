"""Builds an ONNX graph of face-api's age and gender network (TinyXception with two main
blocks, then a 7x7 average pool and two fully connected heads) from its TensorFlow.js weights
manifest, which holds weights only: face-api defines the network in code
(`src/ageGenderNet/AgeGenderNet.ts`, `src/xception/TinyXception.ts`), restated here.

    python3 faceapi-agegender.py MANIFEST.json OUT.onnx

Input `input` [N, 112, 112, 3]: RGB in [0, 255] of the face box padded square and resized to
112 (face-api's `toBatchTensor(112, true)`); the graph subtracts face-api's mean RGB and
divides by 255 itself. Outputs `age` [N] (years, a regression) and `gender` [N, 2] (softmax:
male, female).
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN_RGB = [122.782, 117.001, 104.298]
MAIN_BLOCKS = 2


def load_weights(manifest_path):
    """Every tensor of the manifest, dequantised (uint8: value = q * scale + min)."""
    folder = os.path.dirname(manifest_path)
    weights = {}
    for group in json.load(open(manifest_path)):
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            q = spec.get("quantization")
            if q:
                dtype = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}[q["dtype"]]
                raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
                offset += raw.nbytes
                if q["dtype"] == "float16":
                    values = raw.astype(np.float32)
                else:
                    values = raw.astype(np.float32) * q["scale"] + q["min"]
            else:
                values = np.frombuffer(data, dtype=np.float32, count=count, offset=offset)
                offset += values.nbytes
            weights[spec["name"]] = values.reshape(spec["shape"]).astype(np.float32)
    return weights


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint, array):
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), n))
        return n

    def op(self, kind, inputs, hint, **attrs):
        out = self.name(hint)
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def relu(self, x):
        return self.op("Relu", [x], "relu")

    def conv(self, x, prefix, stride):
        """tf.conv2d(x, filters, stride, 'same') + bias; filters HWIO -> OIHW."""
        filters = self.w[f"{prefix}/filters"].transpose(3, 2, 0, 1)
        k = filters.shape[2]
        pads = same_pads(k, stride)
        return self.op(
            "Conv",
            [x, self.const("w", filters), self.const("b", self.w[f"{prefix}/bias"])],
            "conv",
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=pads,
        )

    def separable(self, x, prefix):
        """tf.separableConv2d(x, depthwise, pointwise, [1, 1], 'same') + bias."""
        depthwise = self.w[f"{prefix}/depthwise_filter"]  # [3, 3, C, 1]
        channels = depthwise.shape[2]
        dw = depthwise.transpose(2, 3, 0, 1)  # [C, 1, 3, 3]
        x = self.op("Conv", [x, self.const("dw", dw)], "dw", kernel_shape=[3, 3], group=channels, pads=[1, 1, 1, 1])
        pointwise = self.w[f"{prefix}/pointwise_filter"].transpose(3, 2, 0, 1)  # [O, C, 1, 1]
        return self.op(
            "Conv", [x, self.const("pw", pointwise), self.const("b", self.w[f"{prefix}/bias"])], "pw", kernel_shape=[1, 1]
        )

    def reduction_block(self, x, prefix, activate_input=True):
        out = self.relu(x) if activate_input else x
        out = self.separable(out, f"{prefix}/separable_conv0")
        out = self.separable(self.relu(out), f"{prefix}/separable_conv1")
        # tf.maxPool([3, 3], [2, 2], 'same') on an even side pads one at the end only.
        out = self.op("MaxPool", [out], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
        return self.op("Add", [out, self.conv(x, f"{prefix}/expansion_conv", 2)], "add")

    def main_block(self, x, prefix):
        out = self.separable(self.relu(x), f"{prefix}/separable_conv0")
        out = self.separable(self.relu(out), f"{prefix}/separable_conv1")
        out = self.separable(self.relu(out), f"{prefix}/separable_conv2")
        return self.op("Add", [out, x], "add")

    def dense(self, x, prefix):
        return self.op("Gemm", [x, self.const("w", self.w[f"{prefix}/weights"]), self.const("b", self.w[f"{prefix}/bias"])], "fc")


def same_pads(kernel, stride, side=None):
    """TensorFlow's 'same' padding for the even sides of this network: the extra pixel at
    the end."""
    total = max(kernel - stride, 0)
    return [total // 2, total // 2, total - total // 2, total - total // 2]


def build(weights):
    g = Graph(weights)
    x = g.op("Transpose", ["input"], "nchw", perm=[0, 3, 1, 2])
    mean = g.const("mean", np.array(MEAN_RGB, dtype=np.float32).reshape(1, 3, 1, 1))
    x = g.op("Sub", [x, mean], "centred")
    x = g.op("Div", [x, g.const("scale", np.array(255.0, dtype=np.float32))], "scaled")
    x = g.relu(g.conv(x, "entry_flow/conv_in", 2))
    x = g.reduction_block(x, "entry_flow/reduction_block_0", activate_input=False)
    x = g.reduction_block(x, "entry_flow/reduction_block_1")
    for n in range(MAIN_BLOCKS):
        x = g.main_block(x, f"middle_flow/main_block_{n}")
    x = g.reduction_block(x, "exit_flow/reduction_block")
    x = g.relu(g.separable(x, "exit_flow/separable_conv"))
    pooled = g.op("AveragePool", [x], "avg", kernel_shape=[7, 7], strides=[2, 2])
    flat = g.op("Flatten", [pooled], "flat", axis=1)
    age = g.dense(flat, "fc/age")
    g.nodes.append(helper.make_node("Squeeze", [age, g_axes(g)], ["age"]))
    gender = g.dense(flat, "fc/gender")
    g.nodes.append(helper.make_node("Softmax", [gender], ["gender"], axis=1))
    graph = helper.make_graph(
        g.nodes,
        "faceapi-agegender",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 112, 112, 3])],
        [
            helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("gender", TensorProto.FLOAT, ["N", 2]),
        ],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="gst-liveness")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def g_axes(g):
    n = g.name("axes")
    g.inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), n))
    return n


if __name__ == "__main__":
    manifest, target = sys.argv[1], sys.argv[2]
    onnx.save(build(load_weights(manifest)), target)
