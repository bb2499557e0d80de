# The CLI's default model search, with copies of the executable in scratch
# layouts (its RPATH still points at the build's libfaceattr.so):
#   build tree  WORK/tree/build/bin/faceattr  ->  WORK/tree/models/anet-int8.fam
#   installed   WORK/inst/BINDIR/faceattr     ->  WORK/inst/INSTALLED_MODEL_DIR/anet-int8.fam
#   neither     WORK/none/bin/faceattr        ->  one-line error naming --model
# Needs -DCLI -DMODEL -DIMAGE -DWORK -DINSTALLED_MODEL_DIR -DBINDIR.
file(REMOVE_RECURSE "${WORK}")

function(expect_model_found exe what)
  execute_process(COMMAND "${exe}" predict --json "${IMAGE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0" OR NOT out MATCHES "\"5_o_Clock_Shadow\":{\"p\":0\\.9999")
    message(FATAL_ERROR "${what}: default model not used (rc ${rc})\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

file(MAKE_DIRECTORY "${WORK}/tree/build/bin" "${WORK}/tree/models")
file(COPY "${CLI}" DESTINATION "${WORK}/tree/build/bin")
get_filename_component(exe_name "${CLI}" NAME)
configure_file("${MODEL}" "${WORK}/tree/models/anet-int8.fam" COPYONLY)
expect_model_found("${WORK}/tree/build/bin/${exe_name}" "build-tree layout")

file(MAKE_DIRECTORY "${WORK}/inst/${BINDIR}" "${WORK}/inst/${INSTALLED_MODEL_DIR}")
file(COPY "${CLI}" DESTINATION "${WORK}/inst/${BINDIR}")
configure_file("${MODEL}" "${WORK}/inst/${INSTALLED_MODEL_DIR}/anet-int8.fam" COPYONLY)
expect_model_found("${WORK}/inst/${BINDIR}/${exe_name}" "installed layout")

file(MAKE_DIRECTORY "${WORK}/none/a/bin")
file(COPY "${CLI}" DESTINATION "${WORK}/none/a/bin")
execute_process(COMMAND "${WORK}/none/a/bin/${exe_name}" predict "${IMAGE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(rc STREQUAL "0" OR NOT err MATCHES "^faceattr: error: no model given[^\n]*--model[^\n]*\n$")
  message(FATAL_ERROR "no default model: expected a one-line error, got rc ${rc}\n${out}\n${err}")
endif()
message(STATUS "no model anywhere: ${err}")
