#!/usr/bin/env bash
# README command 2: the whole test suite — the clang-format check (scripts/format.sh),
# a release build, then the same suite under AddressSanitizer +
# UndefinedBehaviorSanitizer, the unit suite under ThreadSanitizer, short runs of
# every libFuzzer target (fuzz preset, clang-14 with ASan + UBSan; tests/fuzz/),
# then the browser module (wasm preset: node and headless-Chromium tests). The
# release, ASan and wasm suites include short soak runs (tests/soak/); the long
# ones (ctest label soak) are left out.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/format.sh --check
jobs="$(nproc)"

cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

# ThreadSanitizer over the unit suite: kernels, the thread pool, preprocessing and
# the pipeline (predict with and without the localiser, explain) at 1-8 threads,
# 8 sessions at once and one session from two threads (FACEATTR_ERR_BUSY).
cmake --preset tsan
cmake --build --preset tsan -j "$jobs"
# Without address-space randomisation: GCC 12's TSan cannot map its shadow memory on
# kernels with vm.mmap_rnd_bits above 28 (setarch is util-linux, always installed).
setarch "$(uname -m)" -R ctest --preset tsan -j "$jobs"

# Each libFuzzer target (tests/fuzz/) for a fixed number of inputs from its seed corpus
# (a copy in build-fuzz/); longer campaigns: tests/fuzz/README.md.
cmake --preset fuzz
cmake --build --preset fuzz -j "$jobs"
ctest --preset fuzz -j "$jobs"

# The browser module (Emscripten): node tests against build/bin/faceattr, then
# the webcam demo in headless Chromium.
cmake --preset wasm
cmake --build --preset wasm -j "$jobs"
ctest --preset wasm
echo "test.sh: all suites passed"
