# One version number: project(VERSION) in the top-level CMakeLists.txt sets it,
# faceattr.h's macros (faceattr_version.h) and the library's SOVERSION follow
# from it; the web package (web/package.json), the tooling package (package.json)
# and the CLI must say the same.
if(NOT TARGET faceattr_cli)
  return()
endif()
add_test(NAME package_version
         COMMAND ${CMAKE_COMMAND} -DVERSION=${PROJECT_VERSION} -DWEB_PACKAGE_JSON=${PROJECT_SOURCE_DIR}/web/package.json
                 -DTOOLS_PACKAGE_JSON=${PROJECT_SOURCE_DIR}/package.json
                 -DCLI=$<TARGET_FILE:faceattr_cli> -P ${CMAKE_CURRENT_SOURCE_DIR}/native/check_version.cmake)
