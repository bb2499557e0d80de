#!/usr/bin/env bash
# README command 1: install dependencies, build (build/), and run the main job:
# `faceattr predict` with the shipped default model on a sample face photo.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release

sample="${1:-${FACEATTR_DATA_DIR:-../shared/data}/celeba/test_crops/182638.jpg}"
echo "faceattr predict $sample"
build/bin/faceattr predict "$sample"
