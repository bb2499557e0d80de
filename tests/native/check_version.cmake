# Fails unless web/package.json's "version" and `faceattr --version` equal
# project(VERSION). Needs -DVERSION -DPACKAGE_JSON -DCLI.
file(READ "${PACKAGE_JSON}" json)
string(JSON web_version ERROR_VARIABLE err GET "${json}" version)
if(err)
  message(FATAL_ERROR "${PACKAGE_JSON}: no \"version\": ${err}")
endif()
if(NOT web_version STREQUAL VERSION)
  message(FATAL_ERROR "${PACKAGE_JSON} says version ${web_version}, project(VERSION) says ${VERSION}: "
                      "set the version in CMakeLists.txt and copy it to web/package.json")
endif()

execute_process(COMMAND "${CLI}" --version RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc STREQUAL "0" OR NOT out MATCHES "^faceattr ([0-9]+\\.[0-9]+\\.[0-9]+)")
  message(FATAL_ERROR "faceattr --version failed (${rc}): ${out}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "faceattr --version says ${CMAKE_MATCH_1}, project(VERSION) says ${VERSION}")
endif()
message(STATUS "version ${VERSION}: CMakeLists.txt, faceattr.h, the CLI and web/package.json agree")
