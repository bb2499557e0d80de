# Soak tests: one session, many frames, memory watched (tests/soak/). Each program
# prints its figures and fails when memory grows after warm-up beyond its bound.
#   native  faceattr_soak_native (C API, ANet + LNet int8, localising): RSS within
#           1 MB of the post-warm-up baseline
#   node    the wasm package's engine (SIMD flavour) in node: wasm memory does not
#           grow after warm-up, JS heap after GC within its bound (soak_node.mjs)
#   browser the webcam demo (worker path) in headless Chromium: page and worker JS
#           heaps after GC within their bounds, the worker's wasm memory does not
#           grow (soak_browser.mjs)
# The full runs carry the label `soak`, which the release, asan and wasm test
# presets exclude; `ctest --preset soak` (release build) and
# `ctest --preset soak-wasm` (wasm build) run them. Short runs of each are in the
# ordinary suites (native 3,000 predicts, 48 under ASan; node 1,000 frames;
# Chromium 200 frames).
set(FACEATTR_SOAK_DIR ${CMAKE_CURRENT_LIST_DIR}/soak)
set(_soak_models --anet ${PROJECT_SOURCE_DIR}/models/anet-int8.fam --lnet ${PROJECT_SOURCE_DIR}/models/lnet-int8.fam)

if(NOT FACEATTR_WASM)
  if(FACEATTR_TSAN)
    return()
  endif()
  add_executable(faceattr_soak_native ${FACEATTR_SOAK_DIR}/soak_native.cpp)
  target_link_libraries(faceattr_soak_native PRIVATE faceattr_sdk)
  if(FACEATTR_SANITIZE)
    # Unoptimised sanitised kernels take about 0.2 s of CPU per predict (100x the
    # release build): after the warm-up (two passes over the 48 frames) one more
    # pass, every frame size and format, then LeakSanitizer's check at exit.
    set(_soak_short 48)
  else()
    set(_soak_short 3000)
  endif()
  add_test(NAME soak_native_short COMMAND faceattr_soak_native ${_soak_models} --predicts ${_soak_short} --every 48)
  set_tests_properties(soak_native_short PROPERTIES TIMEOUT 600 LABELS "soak_short")
  add_test(NAME soak_native COMMAND faceattr_soak_native ${_soak_models} --predicts 100000 --every 1000)
  set_tests_properties(soak_native PROPERTIES TIMEOUT 3600 LABELS "soak")
  return()
endif()

find_program(FACEATTR_SOAK_NODE node REQUIRED)
set(_soak_env "FACEATTR_WASM_BUILD=${PROJECT_BINARY_DIR}")
add_test(NAME soak_node_short COMMAND ${FACEATTR_SOAK_NODE} --expose-gc --no-experimental-fetch
         ${FACEATTR_SOAK_DIR}/soak_node.mjs --frames 1000)
add_test(NAME soak_node COMMAND ${FACEATTR_SOAK_NODE} --expose-gc --no-experimental-fetch
         ${FACEATTR_SOAK_DIR}/soak_node.mjs --frames 10000)
add_test(NAME soak_browser_short COMMAND ${FACEATTR_SOAK_NODE} ${FACEATTR_SOAK_DIR}/soak_browser.mjs --frames 200)
add_test(NAME soak_browser COMMAND ${FACEATTR_SOAK_NODE} ${FACEATTR_SOAK_DIR}/soak_browser.mjs --frames 2000)
set_tests_properties(soak_node_short soak_browser_short PROPERTIES ENVIRONMENT "${_soak_env}" TIMEOUT 300
                     LABELS "soak_short")
set_tests_properties(soak_node soak_browser PROPERTIES ENVIRONMENT "${_soak_env}" TIMEOUT 1800 LABELS "soak")
