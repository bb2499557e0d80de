# The demo's static server (demo/serve.mjs) keeps to its roots: path traversal,
# encoded `..`, NUL, dotfiles and symlinks out of a root are refused, and the
# command binds to 127.0.0.1 unless --host says otherwise
# (tests/web/serve.test.mjs). Needs node only, so it runs in the native suites.
if(FACEATTR_WASM)
  return()
endif()
find_program(FACEATTR_NODE node)
if(NOT FACEATTR_NODE)
  message(FATAL_ERROR "node not found: install nodejs (scripts/install-deps.sh)")
endif()
add_test(NAME demo_server COMMAND ${FACEATTR_NODE} --test ${CMAKE_CURRENT_LIST_DIR}/web/serve.test.mjs)
set_tests_properties(demo_server PROPERTIES TIMEOUT 120 LABELS "demo")
