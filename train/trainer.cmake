# The LibTorch trainer (train/README.md). Included by train/CMakeLists.txt when
# Torch is found; builds against Debian libtorch 1.13 (CPU) and PyTorch 2.x's
# libtorch (CUDA) unchanged.
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
find_package(Threads REQUIRED)

file(GLOB FACEATTR_TRAIN_LIB_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/data/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/model/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/engine/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/quant/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/stages/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/util/*.cpp)

add_library(faceattr_train_lib STATIC ${FACEATTR_TRAIN_LIB_SOURCES})
target_include_directories(faceattr_train_lib PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(faceattr_train_lib PUBLIC
  ${TORCH_LIBRARIES} faceattr_sdk_internal faceattr_modelfile_writer
  CLI11::CLI11 nlohmann_json::nlohmann_json ZLIB::ZLIB PkgConfig::TURBOJPEG Threads::Threads)
target_compile_options(faceattr_train_lib PUBLIC ${TORCH_CXX_FLAGS})
# Torch headers trigger many -Wextra warnings we cannot fix.
target_compile_options(faceattr_train_lib PRIVATE -Wno-unused-parameter -Wno-sign-compare)
target_compile_definitions(faceattr_train_lib PUBLIC FACEATTR_DEFAULT_DATA_DIR="${FACEATTR_DATA_DIR}")
# Distributed training (engine/dist.h) uses the c10d process groups inside libtorch:
# Gloo's headers come from libgloo-dev; NCCL where LibTorch is a CUDA build.
find_path(FACEATTR_GLOO_INCLUDE gloo/allreduce.h)
if(NOT FACEATTR_GLOO_INCLUDE)
  message(FATAL_ERROR "faceattr trainer: gloo headers not found (Debian: apt install libgloo-dev)")
endif()
target_compile_definitions(faceattr_train_lib PRIVATE USE_C10D_GLOO)
if(TARGET torch_cuda)
  target_compile_definitions(faceattr_train_lib PRIVATE USE_C10D_NCCL FACEATTR_WITH_NCCL)
endif()

add_executable(faceattr_train ${CMAKE_CURRENT_SOURCE_DIR}/src/main.cpp)
target_link_libraries(faceattr_train PRIVATE faceattr_train_lib)

# Unit tests of the trainer's own code (train/tests/*.cpp; seconds, no data). Here, not in
# tests/, because LibTorch's imported targets are visible only in this directory.
if(FACEATTR_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  include(Catch)
  file(GLOB FACEATTR_TRAIN_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*.cpp)
  add_executable(faceattr_train_unit_tests ${FACEATTR_TRAIN_UNIT_TESTS})
  target_link_libraries(faceattr_train_unit_tests PRIVATE faceattr_train_lib Catch2::Catch2WithMain)
  catch_discover_tests(faceattr_train_unit_tests TEST_PREFIX "train." PROPERTIES TIMEOUT 120 LABELS "train")
endif()
