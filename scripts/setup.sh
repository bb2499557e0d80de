#!/usr/bin/env bash
# README command 1: install dependencies, build (build/: native; build-wasm/: the
# browser module and web package), and run the main job: `faceattr predict` with
# the shipped default model on a sample face photo.
#   scripts/setup.sh [PHOTO]           build + predict
#   scripts/setup.sh --serve [PHOTO]   then serve the webcam demo at http://127.0.0.1:8080/demo/
set -euo pipefail
cd "$(dirname "$0")/.."

serve=0
if [ "${1:-}" = "--serve" ]; then
  serve=1
  shift
fi

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
cmake --preset wasm
cmake --build --preset wasm

sample="${1:-${FACEATTR_DATA_DIR:-../shared/data}/celeba/test_crops/182638.jpg}"
echo "faceattr predict $sample"
build/bin/faceattr predict "$sample"

if [ "$serve" = 1 ]; then
  exec node demo/serve.mjs --build build-wasm --port "${FACEATTR_DEMO_PORT:-8080}"
fi
echo "Webcam demo: node demo/serve.mjs, then open http://127.0.0.1:8080/demo/ (or scripts/setup.sh --serve)"
