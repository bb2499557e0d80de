#!/usr/bin/env bash
# Installs every build/test dependency by package name (Debian 12 apt + npm).
# Idempotent: apt runs only when a package is missing; npm only when node_modules is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  zlib1g-dev libflatbuffers-dev flatbuffers-compiler
  libxnnpack-dev libcpuinfo-dev libpthreadpool-dev libhwy-dev
  catch2 libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libstb-dev libturbojpeg0-dev libjpeg62-turbo-dev libwebp-dev libexif-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libfreetype-dev fonts-dejavu-core
  libtorch-dev libgloo-dev libonnx-dev libprotobuf-dev protobuf-compiler
  emscripten binaryen chromium node-typescript clang-format-14
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  g++-aarch64-linux-gnu qemu-user
)
# The aarch64 preset (cmake/aarch64-linux-gnu.cmake): the SDK's dependencies for
# arm64 from Debian's multiarch packages, and the arm64 runtime its tests load
# under qemu-user (libc6, libstdc++6). Catch2 is header-only and flatc runs on the
# build machine: their amd64 packages above serve. Not libxnnpack-dev:arm64: apt
# would remove libtorch-dev to install it (the preset builds without XNNPACK).
ARM64_PACKAGES=(
  libhwy-dev:arm64 libflatbuffers-dev:arm64 zlib1g-dev:arm64 libc6:arm64 libstdc++6:arm64
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}" "${ARM64_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "install-deps: dpkg --add-architecture arm64"
    $SUDO dpkg --add-architecture arm64
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages (onnxruntime-node for the ONNX parity tests). --ignore-scripts: its
# postinstall would download a CUDA build, which this machine neither needs nor reaches.
if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "install-deps: npm ci --ignore-scripts"
    npm ci --ignore-scripts --no-audit --no-fund
    touch node_modules
  fi
fi
