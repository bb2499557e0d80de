# Browser-module tests (Emscripten builds only; tests/CMakeLists.txt also globs
# this file in native builds, where it does nothing). Both run on node:
#   wasm_node     the module's outputs equal the native CLI's on the same pixels
#                 and model (stated tolerances), bad inputs throw, the session
#                 keeps working (tests/web/node.test.mjs)
#   wasm_explain  explain() and detect's response map against `faceattr explain
#                 --json` (tests/web/explain.test.mjs)
#   wasm_track    the tracker through the engine: one id over a moving face,
#                 window averages, hysteresis, resetTracks, updateTracks (the
#                 WebGPU path's), options (tests/web/track.test.mjs; no CLI)
#   wasm_browser  headless Debian Chromium (playwright-core) on the demo with a
#                 fake webcam playing a .y4m made from a test-crop photo, and
#                 its tracking (track ids on the boxes, the toggle) on a clip of
#                 a moving face (tests/web/browser.test.mjs); screenshots in
#                 tests/web/.
#   wasm_kernels  the SDK's kernel unit tests on WASM SIMD128 (node)
#   wasm_types    web/faceattr.d.ts type-checks the README usage (tsc)
# The native reference is a `faceattr` CLI from a native build, and its
# faceattr_native_fixtures (the tiny LNet) beside it (scripts/test.sh builds the
# release preset first).
if(NOT FACEATTR_WASM)
  return()
endif()

set(FACEATTR_NATIVE_CLI "${PROJECT_SOURCE_DIR}/build/bin/faceattr" CACHE FILEPATH
    "Native faceattr CLI the wasm tests compare against")
find_program(FACEATTR_NODE node REQUIRED)

# JPEG -> RGB for the tests (stb_image in wasm; both sides then get the same pixels).
add_executable(faceattr-test-decode ${CMAKE_CURRENT_LIST_DIR}/web/decode_jpeg.cpp)
target_link_options(faceattr-test-decode PRIVATE
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sENVIRONMENT=web -sFILESYSTEM=0 -sALLOW_MEMORY_GROWTH=1
  -sEXPORTED_FUNCTIONS=_malloc,_free,_decode_jpeg,_release)
set_target_properties(faceattr-test-decode PROPERTIES SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/web)
add_dependencies(faceattr_web faceattr-test-decode)

get_filename_component(_native_bin "${FACEATTR_NATIVE_CLI}" DIRECTORY)
set(_web_env
  "FACEATTR_WASM_BUILD=${PROJECT_BINARY_DIR}"
  "FACEATTR_NATIVE_CLI=${FACEATTR_NATIVE_CLI}"
  "FACEATTR_NATIVE_FIXTURES=${_native_bin}/faceattr_native_fixtures"
  "FACEATTR_DATA_DIR=${FACEATTR_DATA_DIR}")
add_test(NAME wasm_node COMMAND ${FACEATTR_NODE} --no-experimental-fetch --test
         ${CMAKE_CURRENT_LIST_DIR}/web/node.test.mjs)
# explain() and the response-map option against `faceattr explain --json` (tests/web/explain.test.mjs).
add_test(NAME wasm_explain COMMAND ${FACEATTR_NODE} --no-experimental-fetch --test
         ${CMAKE_CURRENT_LIST_DIR}/web/explain.test.mjs)
add_test(NAME wasm_track COMMAND ${FACEATTR_NODE} --no-experimental-fetch --test
         ${CMAKE_CURRENT_LIST_DIR}/web/track.test.mjs)
add_test(NAME wasm_browser COMMAND ${FACEATTR_NODE} --test ${CMAKE_CURRENT_LIST_DIR}/web/browser.test.mjs)
# The SDK's kernel unit tests (Catch2, tests/unit/test_kernels_*.cpp) compiled for
# WASM SIMD128 and run in node: Highway's WASM target against the reference
# kernels on the suite's seeded random shapes (the whole model only checks the
# shapes it uses); plus the LNet decoder's tests, the SIMD image resampling against
# its scalar reference (test_preprocess_simd.cpp) and the single-threaded thread pool. Catch2 reports failures by exception: this binary alone
# catches them.
add_executable(faceattr_wasm_kernel_tests
  ${CMAKE_CURRENT_LIST_DIR}/unit/catch_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_kernels_conv.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_kernels_elementwise.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_kernels_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_kernels_reference.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_lnet_decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_preprocess_simd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_preprocess_threads.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/test_thread_pool.cpp)
target_include_directories(faceattr_wasm_kernel_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(faceattr_wasm_kernel_tests PRIVATE faceattr_sdk_internal)
target_compile_options(faceattr_wasm_kernel_tests PRIVATE -msimd128 -fexceptions)
target_link_options(faceattr_wasm_kernel_tests PRIVATE -fexceptions -sDISABLE_EXCEPTION_CATCHING=0
  -sENVIRONMENT=node -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1 -sNODERAWFS=0)
set_target_properties(faceattr_wasm_kernel_tests PROPERTIES SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/web)
add_dependencies(faceattr_web faceattr_wasm_kernel_tests)
# bench/layers_main.cpp as WebAssembly (node, reads model files from disk): per-node times
# of a network on V8 + SIMD128, to set against the native build of the same tool.
add_executable(faceattr_wasm_layers ${PROJECT_SOURCE_DIR}/bench/layers_main.cpp)
target_link_libraries(faceattr_wasm_layers PRIVATE faceattr_sdk_internal)
target_compile_options(faceattr_wasm_layers PRIVATE -msimd128)
target_link_options(faceattr_wasm_layers PRIVATE -sENVIRONMENT=node -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1
  -sNODERAWFS=1)
set_target_properties(faceattr_wasm_layers PROPERTIES SUFFIX ".js" RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
add_dependencies(faceattr_web faceattr_wasm_layers)
add_test(NAME wasm_layers_smoke COMMAND ${FACEATTR_NODE} --no-experimental-fetch $<TARGET_FILE:faceattr_wasm_layers>
         ${PROJECT_SOURCE_DIR}/models/anet-int8.fam --runs 3)
set_tests_properties(wasm_layers_smoke PROPERTIES TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "  12 +[0-9.]+ +[0-9.]+ +[0-9.]+% +Sigmoid 1x40 -> 1x40\n +sum +[0-9.]+\n +run +[0-9.]+ +[0-9.]+")
add_test(NAME wasm_kernels COMMAND ${FACEATTR_NODE} --no-experimental-fetch $<TARGET_FILE:faceattr_wasm_kernel_tests>)
set_tests_properties(wasm_kernels PROPERTIES TIMEOUT 300)

# The TypeScript declarations against the README usage (Debian node-typescript).
find_program(FACEATTR_TSC tsc REQUIRED)
# --typeRoots at an empty folder: the example needs no ambient types, and the
# @types/node that npm pulls in (via onnxruntime-web -> protobufjs) is newer than
# Debian's tsc 4.8 can parse.
add_test(NAME wasm_types COMMAND ${FACEATTR_TSC} --noEmit --strict --target es2022 --module es2022
         --moduleResolution node --lib es2022,dom --typeRoots ${CMAKE_CURRENT_BINARY_DIR}/no-ambient-types
         ${CMAKE_CURRENT_LIST_DIR}/web/types_example.ts)
set_tests_properties(wasm_node wasm_explain wasm_track wasm_browser PROPERTIES ENVIRONMENT "${_web_env}" TIMEOUT 180)
# The WebGPU backend in headless Chromium with --enable-unsafe-webgpu (SwiftShader):
# per-op parity of the WGSL kernels with the SDK's reference kernels (the helper
# module runs one graph node on them), whole-model parity with the wasm backend,
# backend choice and device-loss fallback (tests/web/webgpu.test.mjs).
add_executable(faceattr-webgpu-ref ${CMAKE_CURRENT_LIST_DIR}/web/webgpu_ref.cpp)
target_link_libraries(faceattr-webgpu-ref PRIVATE faceattr_sdk faceattr_sdk_internal)
target_compile_options(faceattr-webgpu-ref PRIVATE -msimd128)
target_link_options(faceattr-webgpu-ref PRIVATE --bind -msimd128 -sMODULARIZE=1 -sEXPORT_ES6=1 -sENVIRONMENT=web
  -sFILESYSTEM=0 -sALLOW_MEMORY_GROWTH=1 -sEXPORTED_FUNCTIONS=_malloc,_free)
set_target_properties(faceattr-webgpu-ref PROPERTIES SUFFIX ".js" RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/web)
add_dependencies(faceattr_web faceattr-webgpu-ref)
add_test(NAME wasm_webgpu COMMAND ${FACEATTR_NODE} --test ${CMAKE_CURRENT_LIST_DIR}/web/webgpu.test.mjs)
set_tests_properties(wasm_webgpu PROPERTIES ENVIRONMENT "${_web_env}" TIMEOUT 180)


# bench/compare-browser.mjs (faceattr wasm vs onnxruntime-web in Chromium): a
# couple of runs at 1 and 2 threads, just to keep the tool working; the figures
# come from running it by hand (bench/RESULTS.md). Exports the ONNX file with
# the native build beside FACEATTR_NATIVE_CLI.
get_filename_component(_native_build "${_native_bin}" DIRECTORY)
add_test(NAME bench_compare_browser_smoke
         COMMAND ${FACEATTR_NODE} ${PROJECT_SOURCE_DIR}/bench/compare-browser.mjs --wasm-build ${PROJECT_BINARY_DIR}
                 --build ${_native_build} --rounds 1 --runs 2 --warmup 1 --threads 1,2
                 --models ${PROJECT_SOURCE_DIR}/models/anet-int8.fam --json)
set_tests_properties(bench_compare_browser_smoke PROPERTIES ENVIRONMENT "${_web_env}" TIMEOUT 180
  PASS_REGULAR_EXPRESSION "\"model\":\"anet-int8\",\"kind\":\"anet\",\"dtype\":\"int8\",\"threads\":2,\"flavour\":\"faceattr-simd-threads\"")

# bench/report.mjs (one command: native compare, browser compare, scaling ->
# report.html + the generated section of RESULTS.md), --quick, written into the
# build tree (never the repository's bench/RESULTS.md).
add_test(NAME bench_report_smoke
         COMMAND ${FACEATTR_NODE} ${PROJECT_SOURCE_DIR}/bench/report.mjs --quick --build ${_native_build}
                 --wasm-build ${PROJECT_BINARY_DIR} --out ${PROJECT_BINARY_DIR}/bench/report.html
                 --results ${PROJECT_BINARY_DIR}/bench/RESULTS.md)
set_tests_properties(bench_report_smoke PROPERTIES ENVIRONMENT "${_web_env}" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "report: wrote [^\n]*report.html \\(native [1-9][0-9]* rows, browser 3 rows, scaling 6 rows\\)\nreport: updated")
