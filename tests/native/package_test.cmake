# The installed package, as a user gets it from `cmake --install`.
#   MODE=install           install the build into PREFIX, check the files, run the
#                          installed CLI with its default model
#   MODE=consumer_shared   build tests/native/consumer with find_package(faceattr),
#   MODE=consumer_static   linking faceattr::faceattr / faceattr::faceattr_static, run it
#   MODE=pkgconfig_shared  compile consumer/main.c with `pkg-config faceattr`,
#   MODE=pkgconfig_static  dynamically or against libfaceattr.a + Libs.private, run it
# Definitions: see tests/native.cmake (FACEATTR_NT_PKG_DEFS).

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0")
    string(JOIN " " shown ${ARGN})
    message(FATAL_ERROR "${what} failed (${rc}): ${shown}\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# Runs a consumer binary on the test model and checks its verdict line.
function(run_consumer exe)
  run("${exe}" "${exe}" "${MODEL}")
  if(NOT run_out MATCHES "ok: 5_o_Clock_Shadow p=0\\.9999")
    message(FATAL_ERROR "${exe}: unexpected output\n${run_out}")
  endif()
  message(STATUS "${run_out}")
endfunction()

# `static`: the executable must not need libfaceattr.so at run time.
function(check_linkage exe kind)
  run("readelf" "${READELF}" -d "${exe}")
  if(kind STREQUAL "static" AND run_out MATCHES "NEEDED[^\n]*libfaceattr")
    message(FATAL_ERROR "${exe} was to link libfaceattr.a but needs libfaceattr.so:\n${run_out}")
  endif()
  if(kind STREQUAL "shared" AND NOT run_out MATCHES "NEEDED[^\n]*libfaceattr\\.so")
    message(FATAL_ERROR "${exe} was to link libfaceattr.so but does not need it:\n${run_out}")
  endif()
endfunction()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}")
  foreach(f include/faceattr/faceattr.h include/faceattr/faceattr.hpp include/faceattr/faceattr_version.h
            ${LIBDIR}/libfaceattr.so ${LIBDIR}/libfaceattr.a ${LIBDIR}/pkgconfig/faceattr.pc
            ${LIBDIR}/cmake/faceattr/faceattrConfig.cmake ${LIBDIR}/cmake/faceattr/faceattrConfigVersion.cmake
            ${LIBDIR}/cmake/faceattr/faceattr-shared-targets.cmake
            ${LIBDIR}/cmake/faceattr/faceattr-static-targets.cmake ${BINDIR}/faceattr)
    if(NOT EXISTS "${PREFIX}/${f}")
      message(FATAL_ERROR "not installed: ${f}")
    endif()
  endforeach()
  # The installed CLI runs from the prefix (RPATH $ORIGIN/../lib) and finds the
  # model in share/faceattr/models; the test model stands in when no trained
  # model was installed.
  if(NOT EXISTS "${PREFIX}/${MODELDIR}/anet-int8.fam")
    configure_file("${MODEL}" "${PREFIX}/${MODELDIR}/anet-int8.fam" COPYONLY)
  endif()
  unset(ENV{LD_LIBRARY_PATH})
  run("installed CLI" "${PREFIX}/${BINDIR}/faceattr" predict --json "${IMAGE}")
  if(NOT run_out MATCHES "^{\"image\":")
    message(FATAL_ERROR "installed CLI output:\n${run_out}")
  endif()
  run("readelf" "${READELF}" -d "${PREFIX}/${BINDIR}/faceattr")
  if(NOT run_out MATCHES "R(UN)?PATH[^\n]*\\$ORIGIN")
    message(FATAL_ERROR "installed CLI has no $ORIGIN-relative RPATH:\n${run_out}")
  endif()
  message(STATUS "installed to ${PREFIX}")
  return()
endif()

string(REGEX REPLACE "^[a-z]+_" "" kind "${MODE}")  # shared | static
set(bin "${WORK}/${MODE}")
file(REMOVE_RECURSE "${bin}")
file(MAKE_DIRECTORY "${bin}")

if(MODE MATCHES "^consumer_")
  run("configure consumer" "${CMAKE_COMMAND}" -S "${SRC}" -B "${bin}" -G "${GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${PREFIX}" -DFACEATTR_LINK=${kind}
      "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
      "-DCMAKE_C_FLAGS=${SAN_FLAGS}" "-DCMAKE_CXX_FLAGS=${SAN_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SAN_FLAGS}")
  if(NOT run_out MATCHES "faceattr [0-9.]+ from ${PREFIX}/")
    message(FATAL_ERROR "find_package(faceattr) did not use ${PREFIX}:\n${run_out}")
  endif()
  run("build consumer" "${CMAKE_COMMAND}" --build "${bin}")
  foreach(exe consumer_c consumer_cpp)
    check_linkage("${bin}/${exe}" ${kind})
    run_consumer("${bin}/${exe}")
  endforeach()
  return()
endif()

if(MODE MATCHES "^pkgconfig_")
  if(NOT PKG_CONFIG)
    message(FATAL_ERROR "pkg-config not found at configure time (apt-get install pkg-config)")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
  run("pkg-config" "${PKG_CONFIG}" --cflags faceattr)
  separate_arguments(cflags UNIX_COMMAND "${run_out}")
  run("pkg-config" "${PKG_CONFIG}" --variable=libdir faceattr)
  string(STRIP "${run_out}" libdir)
  if(kind STREQUAL "shared")
    run("pkg-config" "${PKG_CONFIG}" --libs faceattr)
    separate_arguments(libs UNIX_COMMAND "${run_out}")
    list(APPEND libs "-Wl,-rpath,${libdir}")
  else()
    # Libs.private must be complete: link the archive with exactly what
    # `pkg-config --static` lists besides -lfaceattr.
    run("pkg-config" "${PKG_CONFIG}" --static --libs faceattr)
    separate_arguments(libs UNIX_COMMAND "${run_out}")
    list(TRANSFORM libs REPLACE "^-lfaceattr$" "${libdir}/libfaceattr.a")
  endif()
  separate_arguments(san UNIX_COMMAND "${SAN_FLAGS}")
  run("compile with pkg-config flags" "${C_COMPILER}" -std=c99 ${san} ${cflags} "${SRC}/main.c" -o "${bin}/consumer_c"
      ${libs})
  check_linkage("${bin}/consumer_c" ${kind})
  run_consumer("${bin}/consumer_c")
  return()
endif()

message(FATAL_ERROR "unknown MODE '${MODE}'")
