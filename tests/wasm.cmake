# Browser-module tests (Emscripten builds only; tests/CMakeLists.txt also globs
# this file in native builds, where it does nothing).
if(NOT FACEATTR_WASM)
  return()
endif()
