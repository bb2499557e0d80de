# x86: the SDK library's int8 kernels for Highway's AVX3_DL target use AVX-512
# VNNI (EVEX vpdpbusd / vpdpwssd) and no AVX-VNNI (VEX) instruction, which the
# AVX512-VNNI CPUs that Highway sends to AVX3_DL (Ice Lake, Zen 4) lack
# (sdk/src/kernels/simd/conv2d_gemm_i8.cpp). Checked on the built code, on
# every x86 machine: the AVX3_DL kernels themselves run only where the CPU has
# them. GCC builds: with clang the file leaves VNNI out.
if(FACEATTR_WITH_SIMD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  find_program(FACEATTR_OBJDUMP NAMES objdump)
  if(FACEATTR_OBJDUMP)
    add_test(NAME sdk_vnni_encoding
             COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${FACEATTR_OBJDUMP} -DLIB=$<TARGET_FILE:faceattr_sdk>
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/support/check_vnni_encoding.cmake)
    set_tests_properties(sdk_vnni_encoding PROPERTIES LABELS "native" TIMEOUT 300)
  endif()
endif()
