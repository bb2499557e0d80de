# Cross toolchain for 64-bit ARM Linux (the aarch64 preset): Debian's
# g++-aarch64-linux-gnu, arm64 libraries from multiarch (/usr/lib/aarch64-linux-gnu),
# host tools (flatc) from the build machine, and binaries run under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Headers and libraries: the arm64 multiarch folders under / as well as the cross root.
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# Tests run under qemu-user against the arm64 multiarch runtime (libc6:arm64,
# libstdc++6:arm64, libhwy1:arm64 in /lib/aarch64-linux-gnu), as on an arm64 Debian
# system: "-L /" loads /lib/ld-linux-aarch64.so.1 from libc6:arm64. Not
# "-L /usr/aarch64-linux-gnu": that loader (libc6-arm64-cross) reads /etc/ld.so.cache
# and loads the multiarch libc.so.6, a different glibc build than its own, and
# pthread_create then loops forever walking the loader's stack cache (its layout is
# private to one glibc build). The cross root above is for linking only.
# qemu's "max" CPU offers SVE and SVE2, so Highway's dispatch also runs those targets.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu max -L /)
