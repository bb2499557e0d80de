#!/usr/bin/env bash
# README command 2: the whole test suite — the clang-format check (scripts/format.sh),
# a release build, then the same suite under AddressSanitizer +
# UndefinedBehaviorSanitizer, the unit suite under ThreadSanitizer, short runs of
# every libFuzzer target (fuzz preset, clang-14 with ASan + UBSan; tests/fuzz/),
# the unit suite cross-built for 64-bit ARM and run under qemu-user (aarch64
# preset), then the browser module (wasm preset: node and headless-Chromium tests). The
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

# 64-bit ARM (cmake/aarch64-linux-gnu.cmake): the SDK and the unit suite (label unit:
# kernels on NEON against the reference, the thread pool, preprocessing, the pipeline,
# the C header) cross-built with g++-aarch64-linux-gnu and run under qemu-aarch64
# -cpu max. The stress tests take their smaller sizes there (FACEATTR_TEST_EMULATED).
cmake --preset aarch64
cmake --build --preset aarch64 -j "$jobs"
ctest --preset aarch64 -j "$jobs"

# The browser module (Emscripten): node tests against build/bin/faceattr, then
# the webcam demo in headless Chromium.
cmake --preset wasm
cmake --build --preset wasm -j "$jobs"
ctest --preset wasm
echo "test.sh: all suites passed"
