# ctest driver of one fuzz target (tests/fuzz/CMakeLists.txt): copies the seed corpus
# and the regression inputs into WORK, then runs EXE for RUNS inputs with seed 1.
# Fails on any crash, sanitizer report, leak or timeout (libFuzzer's exit status).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
foreach(dir ${SEEDS} ${REGRESSIONS})
  if(IS_DIRECTORY ${dir})
    file(GLOB inputs ${dir}/*)
    file(COPY ${inputs} DESTINATION ${WORK}/corpus)
  endif()
endforeach()
set(args -runs=${RUNS} -seed=1 -timeout=25 -rss_limit_mb=2560 -print_final_stats=1
    -artifact_prefix=${WORK}/artifacts/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
if(MAX_LEN GREATER 0)
  list(APPEND args -max_len=${MAX_LEN})
endif()
execute_process(COMMAND ${EXE} ${args} ${WORK}/corpus RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} failed (${rc}); the input is in ${WORK}/artifacts")
endif()
