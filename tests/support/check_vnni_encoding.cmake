# cmake -DOBJDUMP=objdump -DLIB=libfaceattr.a -P check_vnni_encoding.cmake
# Fails when LIB holds a VEX-encoded (AVX-VNNI) dot product instruction, or no
# EVEX (AVX-512 VNNI) one at all. See tests/isa.cmake.
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${LIB}
                COMMAND grep -E "vpdp(bu|ws)sds?"
                OUTPUT_VARIABLE lines RESULT_VARIABLE rc)
if(NOT lines)
  message(FATAL_ERROR "${LIB}: no vpdpbusd / vpdpwssd instruction: the AVX3_DL int8 kernels were not compiled")
endif()
string(REGEX MATCHALL "\\{vex\\}[ \t]*vpdp[a-z]+[^\n]*" vex "${lines}")
list(LENGTH vex n_vex)
string(REGEX MATCHALL "[\t ]vpdp[a-z]+[ \t]+[^\n]*zmm" evex "${lines}")
list(LENGTH evex n_evex)
if(n_vex GREATER 0)
  list(GET vex 0 first)
  message(FATAL_ERROR "${LIB}: ${n_vex} VEX-encoded (AVX-VNNI) instructions, e.g. '${first}'")
endif()
if(n_evex EQUAL 0)
  message(FATAL_ERROR "${LIB}: no 512-bit (EVEX) VNNI instruction")
endif()
message(STATUS "${LIB}: ${n_evex} AVX-512 VNNI instructions, none VEX-encoded")
