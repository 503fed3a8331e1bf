"""Rewrites every PRelu node of an ONNX model as
Conv1x1(Relu(x), 1 - slope) + Conv1x1(x, slope), two depthwise 1x1 convolutions.

The two are the same function (slope * x + (1 - slope) * max(x, 0)), but ONNX Runtime's CPU
kernels run the rewritten graph much faster: its PRelu kernel is slow, and depthwise
convolutions and their sum stay in its blocked (NCHWc) layout, where it fuses the addition into
the second convolution, so no layout reorders are left around the activation. The face mesh
(28 PRelu) runs in about 1.3 ms instead of 4.4 ms on ONNX Runtime 1.32, one thread (2.0 ms
with the earlier Relu(x) + slope * Min(x, 0) form, whose Min and Mul nodes forced a reorder
in and out of the blocked layout at each activation).

    python rewrite-prelu.py IN.onnx OUT.onnx

The script checks the claim before writing: the original and the rewritten model, run by
ONNX's reference evaluator on the same seeded random input, must give the same outputs up to
float rounding (1e-6 of the output's magnitude).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

def rewrite(model):
    graph = model.graph
    slopes = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes, weights, replaced, count = [], [], set(), 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        count += 1
        x, slope_name = node.input
        replaced.add(slope_name)
        name = node.name or f"prelu_{count}"
        slope = slopes[slope_name].astype(np.float32).reshape(-1)
        channels = slope.size
        weights += [
            numpy_helper.from_array(slope.reshape(channels, 1, 1, 1), f"{name}/slope"),
            numpy_helper.from_array((1 - slope).reshape(channels, 1, 1, 1), f"{name}/rest"),
        ]
        conv = {"group": channels, "kernel_shape": [1, 1]}
        nodes += [
            helper.make_node("Relu", [x], [f"{name}/positive"], name=f"{name}/relu"),
            helper.make_node("Conv", [f"{name}/positive", f"{name}/rest"], [f"{name}/kept"], name=f"{name}/keep", **conv),
            helper.make_node("Conv", [x, f"{name}/slope"], [f"{name}/sloped"], name=f"{name}/slope", **conv),
            helper.make_node("Add", [f"{name}/kept", f"{name}/sloped"], [node.output[0]], name=f"{name}/add"),
        ]
    # The slopes now live in the convolutions' weights.
    kept = [init for init in graph.initializer if init.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(kept + weights)
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def outputs(model):
    rng = np.random.default_rng(0)
    feed = {}
    for value in model.graph.input:
        dims = [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
        feed[value.name] = rng.random(dims, dtype=np.float32) * 2 - 0.5
    return ReferenceEvaluator(model).run(None, feed)


def main():
    source, target = sys.argv[1:3]
    model = onnx.load(source)
    before = outputs(model)
    count = rewrite(model)
    onnx.checker.check_model(model)
    after = outputs(model)
    worst = max(float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a))))) for a, b in zip(before, after))
    if worst > 1e-6:
        sys.exit(f"{source}: the rewritten model differs by {worst}")
    onnx.save(model, target)
    print(f"{target}: {count} PRelu rewritten, outputs equal (largest difference {worst:g} of the magnitude)")


if __name__ == "__main__":
    main()
