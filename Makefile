# gst-liveness: set-up, build, test and demo on Debian 12.
#   make test    install what is missing, build, run every test (cargo, meson, gst-inspect)
#   make demo    install what is missing, build, run the whole chain on a bundled clip and
#                print the decoded verdict token (pass, then a random sequence that fails)
#   make demo-server [MODE=open|rp]  lpserver and its page on http://127.0.0.1:5003/, with
#                anonymous sessions or as a relying party's session (token in the address)
#   make bench   print lvfacedetect vs opencv facedetect timings, the analysis chain's
#                frames/s on one and two cores (one model session, then a pool), and lpserver's
#                capacity: lpload round trips at 10-20 sessions, one core, twice MAX_SESSIONS
#                (release build); face-match proofs: constraints, proof time and peak memory,
#                verification time
#   make eval    the camera sweep of the stream checks (every camera condition, no server),
#                then genuine and attack sessions through lpserver over LPProto (release
#                build, shipped defaults; rows with the flash off and without the prompt hold):
#                BPCER per camera condition, sessions refused for age, APCER per attack,
#                time to pass, the age check as a row of its own; figure in target/eval/eval.png;
#                face matching's false match and non-match rates (target/eval/match-roc.png)
#   make eval-pad  the presentation-attack calibration set, every candidate's DET curve and
#                the fusion refitted into models/pad-fusion.json (target/eval/pad-det.png)
#   make age-survey  every age model on the evaluation identities: cost, spread, error
#                against the known ages (target/eval/age-survey.json)

SHELL := /bin/bash
# ONNX Runtime 1.32 keeps a device id and telemetry events under $HOME unless told not to.
export ORT_DISABLE_TELEMETRY := 1
ORT_VERSION := 1.32.0
ORT_LIB := .ort/libonnxruntime.so.$(ORT_VERSION)
PLUGIN_DIR := $(CURDIR)/target/debug
ELEMENTS := lvfacedetect lvlandmarks lvantispoof lvsurfaceanalysis lvchallenge lvjwtsink lvvideoglue lvvideogluesrc

# fixtures: the face-matching photos of the REST tests, from a PyPI sdist (not committed).
# openapi-validator: openapi-spec-validator from PyPI, the contract test's independent checker.
# axe: axe-core from npm, the accessibility checker of the page's Chromium test.
# typescript: TypeScript from npm, the checker of the web client's typings (make test-web).
# zk-checkers: snarkjs, solc and an EVM from npm, the independent checkers of face-match proofs.
.PHONY: all deps ort fixtures openapi-validator axe typescript zk-checkers build test test-web test-busy test-cargo test-features test-meson demo demo-server bench eval eval-pad age-survey models clean-meson

all: build

deps:
	@scripts/install-deps.sh

ort: deps
	@scripts/fetch-ort.sh

fixtures: deps
	@scripts/fetch-fixtures.sh

openapi-validator: deps
	@scripts/fetch-openapi-validator.sh

axe: deps
	@scripts/fetch-axe.sh

typescript: deps
	@scripts/fetch-typescript.sh

zk-checkers: deps
	@scripts/fetch-zk-checkers.sh

build: ort
	cargo build --workspace

# cargo build first: `cargo test` alone does not link the cdylib that gst-inspect loads.
test: ort fixtures openapi-validator axe typescript zk-checkers
	cargo fmt --check
	cargo build --workspace
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(MAKE) --no-print-directory test-web
	cargo test --workspace
	$(MAKE) --no-print-directory test-features
	$(MAKE) --no-print-directory test-meson

# The web client's typings against an integrator's code (web/types-check.tsx, tsc --strict:
# its @ts-expect-error lines are uses the typings must refuse), and its module imported where
# there is no DOM, as server-side rendering does.
test-web:
	node .cache/typescript/lib/tsc.js --strict --noEmit --jsx preserve --target es2022 --module esnext \
	  --moduleResolution bundler --lib es2022,dom web/types-check.tsx
	cd web && node --input-type=module -e "const m = await import('./liveness-check.js'); \
	  if (typeof m.mount !== 'function' || typeof m.LivenessCheck !== 'function') process.exit(1);"
	@echo "web: the typings hold under tsc --strict; the module imports without a DOM"

# The suite on a busy machine: two CPU-bound processes (stress-ng) run beside it for as long
# as it does. No test may depend on how fast frames are analysed.
test-busy: deps
	stress-ng --cpu 2 --cpu-method matrixprod --quiet & stress=$$!; \
	$(MAKE) --no-print-directory test; status=$$?; \
	kill $$stress 2>/dev/null; wait $$stress 2>/dev/null; exit $$status

# The analysis-only plugin (no lvjwtsink, no lvvideoglue) builds and links neither Redis nor
# JWT/RSA; no function of the code is longer than 80 lines (tables aside); the module graph
# has no circles and no element imports another (scripts/module-graph.py).
test-features:
	cargo check -p gst-plugin-liveness --no-default-features --lib --quiet
	@if cargo tree -p gst-plugin-liveness --no-default-features -e normal --prefix none | grep -E '^(redis|rsa|jsonwebtoken) '; then \
	  echo "the analysis-only build links the crates above"; exit 1; fi
	python3 scripts/long-functions.py src elements/src core/src tools/src zkmatch/src
	python3 scripts/module-graph.py
	@echo "features: the analysis-only plugin builds without redis, rsa and jsonwebtoken"

# The three commands of the README's install section, installed into a scratch destdir, then
# gst-inspect-1.0 must find the plugin there.
test-meson:
	rm -rf build-meson .cache/destdir
	meson setup build-meson --prefix=/usr/local >/dev/null
	meson compile -C build-meson
	DESTDIR=$(CURDIR)/.cache/destdir meson install -C build-meson --quiet
	plugindir="$$(pkg-config --variable=pluginsdir gstreamer-1.0)"; \
	GST_PLUGIN_PATH="$(CURDIR)/.cache/destdir$$plugindir" GST_REGISTRY="$(CURDIR)/.cache/registry-meson.bin" \
	  LIVENESS_MODEL_DIR="$(CURDIR)/.cache/destdir/usr/local/share/gst-liveness/models" \
	  gst-inspect-1.0 lvfacedetect | grep -q "Liveness face detector"
	plugindir="$$(pkg-config --variable=pluginsdir gstreamer-1.0)"; \
	GST_PLUGIN_PATH="$(CURDIR)/.cache/destdir$$plugindir" GST_REGISTRY="$(CURDIR)/.cache/registry-meson.bin" \
	  LIVENESS_MODEL_DIR="$(CURDIR)/.cache/destdir/usr/local/share/gst-liveness/models" \
	  ORT_DYLIB_PATH="$$(ls $(CURDIR)/.cache/destdir/usr/local/lib/*/gst-liveness/libonnxruntime.so.* $(CURDIR)/.cache/destdir/usr/local/lib/gst-liveness/libonnxruntime.so.* 2>/dev/null | head -n1)" \
	  gst-launch-1.0 -m filesrc location=tests/fixtures/astronaut.png ! decodebin ! videoconvert ! imagefreeze num-buffers=1 \
	    ! lvfacedetect post-messages=true ! fakesink | sed 's/\\//g' | grep -q "track-id=(guint64)1"
	plugindir="$$(pkg-config --variable=pluginsdir gstreamer-1.0)"; \
	GST_PLUGIN_PATH="$(CURDIR)/.cache/destdir$$plugindir" GST_REGISTRY="$(CURDIR)/.cache/registry-meson.bin" \
	  LIVENESS_MODEL_DIR="$(CURDIR)/.cache/destdir/usr/local/share/gst-liveness/models" \
	  ORT_DYLIB_PATH="$$(ls $(CURDIR)/.cache/destdir/usr/local/lib/*/gst-liveness/libonnxruntime.so.* $(CURDIR)/.cache/destdir/usr/local/lib/gst-liveness/libonnxruntime.so.* 2>/dev/null | head -n1)" \
	  gst-launch-1.0 -m filesrc location=tests/fixtures/astronaut.png ! decodebin ! videoconvert ! imagefreeze num-buffers=1 \
	    ! lvfacedetect ! lvantispoof post-messages=true ! fakesink | sed 's/\\//g' | grep -q "is-real=(boolean)true"
	plugindir="$$(pkg-config --variable=pluginsdir gstreamer-1.0)"; \
	export GST_PLUGIN_PATH="$(CURDIR)/.cache/destdir$$plugindir" GST_REGISTRY="$(CURDIR)/.cache/registry-meson.bin"; \
	listed="$$(gst-inspect-1.0 liveness)"; \
	for element in $(ELEMENTS); do \
	  echo "$$listed" | grep -q "^  $$element: " || { echo "gst-inspect-1.0 liveness does not list $$element"; exit 1; }; \
	  gst-inspect-1.0 "$$element" | grep -q "^  Description  *[A-Z]" || { echo "$$element has no description"; exit 1; }; \
	  gst-inspect-1.0 "$$element" | awk '/^Element Properties:/ {p=1; next} p && /^  [a-z][a-z-]* *: *$$/ {print; bad=1} END {exit bad}' \
	    || { echo "$$element has a property without a description"; exit 1; }; \
	done
	test -x .cache/destdir/usr/local/share/gst-liveness/pipelines/camera.sh
	@echo "meson: built, installed (models and the PAD fusion found), every element listed and documented by gst-inspect-1.0"

demo: build
	@scripts/demo.sh

demo-server: build
	@scripts/demo-server.sh

bench: ort
	cargo bench -p gst-plugin-liveness --bench facedetect
	cargo bench -p gst-plugin-liveness --bench crops
	LIVENESS_MODEL_SESSIONS=1 cargo bench -p gst-plugin-liveness --bench scaling
	cargo bench -p gst-plugin-liveness --bench scaling
	cargo bench -p zkmatch --bench proof
	cargo build --release -p lpserver -p liveness-tools
	ORT_DYLIB_PATH=$(CURDIR)/$(ORT_LIB) scripts/capacity.sh

# The evaluation of issue-grade figures: about an hour on 2 cores (the camera sweep 18
# minutes, the sessions 40). EVAL_ARGS passes options to the sessions' lpeval (--set
# tuning|reporting|all, --sessions, --attacks, --parallel, --rows).
eval: ort
	@scripts/fetch-eval-faces.sh
	cargo build --release -p liveness-tools --bin lpeval
	ORT_DYLIB_PATH=$(CURDIR)/$(ORT_LIB) target/release/lpeval --mode camera
	ORT_DYLIB_PATH=$(CURDIR)/$(ORT_LIB) target/release/lpeval --mode match
	ORT_DYLIB_PATH=$(CURDIR)/$(ORT_LIB) target/release/lpeval $(EVAL_ARGS)
	@python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install --quiet matplotlib
	python3 scripts/eval-plot.py target/eval
	python3 scripts/match-roc.py target/eval

# The calibration set of lvantispoof's fusion (about a minute): lpeval --mode pad writes every
# candidate's value on each frame, scripts/pad-fit.py fits the fusion on the tuning identities,
# writes models/pad-fusion.json and reports on the others (table, DET curves).
eval-pad: ort
	@scripts/fetch-eval-faces.sh
	cargo build --release -p liveness-tools --bin lpeval
	ORT_DYLIB_PATH=$(CURDIR)/$(ORT_LIB) target/release/lpeval --mode pad
	@python3 -c "import matplotlib, numpy" 2>/dev/null || python3 -m pip install --quiet matplotlib numpy
	python3 scripts/pad-fit.py target/eval --fusion models/pad-fusion.json

# The survey of the age models (about 10 minutes): every candidate of models/MODELS.md on
# the evaluation's identities, filmed by random cameras; the candidates not shipped come from
# `make models` (its work folder's candidates/), and are left out when missing.
age-survey: ort
	@scripts/fetch-eval-faces.sh
	cargo build --release -p liveness-tools --bin lpeval
	ORT_DYLIB_PATH=$(CURDIR)/$(ORT_LIB) target/release/lpeval --mode age

# Rebuilds models/*.onnx from their registry packages (needs TensorFlow: see models/MODELS.md).
models:
	models/convert.sh
