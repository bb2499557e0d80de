# Fails unless the "version" of web/package.json and of the tooling package.json, and
# `faceattr --version`, equal project(VERSION).
# Needs -DVERSION -DWEB_PACKAGE_JSON -DTOOLS_PACKAGE_JSON -DCLI.
foreach(package_json "${WEB_PACKAGE_JSON}" "${TOOLS_PACKAGE_JSON}")
  file(READ "${package_json}" json)
  string(JSON package_version ERROR_VARIABLE err GET "${json}" version)
  if(err)
    message(FATAL_ERROR "${package_json}: no \"version\": ${err}")
  endif()
  if(NOT package_version STREQUAL VERSION)
    message(FATAL_ERROR "${package_json} says version ${package_version}, project(VERSION) says ${VERSION}: "
                        "set the version in CMakeLists.txt and copy it to the package.json files")
  endif()
endforeach()

execute_process(COMMAND "${CLI}" --version RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc STREQUAL "0" OR NOT out MATCHES "^faceattr ([0-9]+\\.[0-9]+\\.[0-9]+)")
  message(FATAL_ERROR "faceattr --version failed (${rc}): ${out}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "faceattr --version says ${CMAKE_MATCH_1}, project(VERSION) says ${VERSION}")
endif()
message(STATUS "version ${VERSION}: CMakeLists.txt, faceattr.h, the CLI and the package.json files agree")
