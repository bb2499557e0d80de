# Runs one `faceattr` command line (the arguments after `--`) and checks it.
#
#   cmake [-DEXPECT=ok|error] [-DOUTPUT_REGEX=re] [-DERROR_REGEX=re]
#         [-DCHECKER=exe -DCHECK_ARGS="mode|{out}|expected..."] [-DOUT_FILE=path]
#         [-DUNSET_ENV=VAR] -P run_cli.cmake -- <faceattr> <args...>
#
# EXPECT=ok (default): exit code 0; stdout matches OUTPUT_REGEX; when CHECKER is
# set, stdout is saved to OUT_FILE and `CHECKER <CHECK_ARGS>` must pass, with
# {out} replaced by OUT_FILE ('|' separates arguments).
# EXPECT=error: a non-zero exit code (not a crash), nothing on stdout, and
# stderr exactly one line "faceattr: error: ..." (matching ERROR_REGEX if set).
set(cmd "")
set(seen_sep FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(seen_sep)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(seen_sep TRUE)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "run_cli.cmake: no command after --")
endif()
if(NOT EXPECT)
  set(EXPECT ok)
endif()
if(UNSET_ENV)
  unset(ENV{${UNSET_ENV}})
endif()

execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(JOIN " " shown ${cmd})

if(EXPECT STREQUAL "error")
  if(NOT rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "crashed (${rc}): ${shown}\nstderr:\n${err}")
  endif()
  if(rc EQUAL 0)
    message(FATAL_ERROR "exit code 0, expected an error: ${shown}\nstdout:\n${out}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "printed on stdout although it failed: ${shown}\nstdout:\n${out}")
  endif()
  if(NOT err MATCHES "^faceattr: error: [^\n]+\n$")
    message(FATAL_ERROR "stderr is not one 'faceattr: error: ...' line: ${shown}\nstderr:\n${err}")
  endif()
  if(ERROR_REGEX AND NOT err MATCHES "${ERROR_REGEX}")
    message(FATAL_ERROR "stderr does not match '${ERROR_REGEX}': ${err}")
  endif()
  message(STATUS "rc ${rc}: ${err}")
  return()
endif()

if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "exit code ${rc}: ${shown}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(OUTPUT_REGEX AND NOT out MATCHES "${OUTPUT_REGEX}")
  message(FATAL_ERROR "stdout does not match '${OUTPUT_REGEX}': ${shown}\nstdout:\n${out}")
endif()
if(CHECKER)
  file(WRITE "${OUT_FILE}" "${out}")
  string(REPLACE "{out}" "${OUT_FILE}" check_args "${CHECK_ARGS}")
  string(REPLACE "|" ";" check_args "${check_args}")
  execute_process(COMMAND "${CHECKER}" ${check_args} RESULT_VARIABLE crc OUTPUT_VARIABLE cout ERROR_VARIABLE cerr)
  if(NOT crc STREQUAL "0")
    message(FATAL_ERROR "checker failed on the output of: ${shown}\n${cout}${cerr}\noutput:\n${out}")
  endif()
endif()
message(STATUS "ok: ${shown}")
