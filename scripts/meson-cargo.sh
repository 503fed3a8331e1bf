#!/usr/bin/env bash
# Called by meson: builds the workspace with cargo and copies the plugin and server into
# meson's build directory. The install locations of the models and of ONNX Runtime are
# compiled into the plugin as its last-resort defaults.
set -euo pipefail
source_root="$1" target_dir="$2" profile="$3" modeldir="$4" ortdir="$5" outdir="$6"

flags=()
if [[ "$profile" == release ]]; then
    flags+=(--release)
fi
export LIVENESS_INSTALLED_MODEL_DIR="$modeldir"
export LIVENESS_INSTALLED_ORT="$ortdir/libonnxruntime.so.1.32.0"
cargo build --manifest-path "$source_root/Cargo.toml" --workspace --target-dir "$target_dir" "${flags[@]}"
cp "$target_dir/$profile/libgstliveness.so" "$target_dir/$profile/lpserver" "$outdir/"
