# Smoke tests of the Google Benchmark suite (bench/): each binary loads the
# shipped models and runs a few benchmarks for a moment, so a broken loader,
# bind or counter shows up in ctest. Figures are not checked (speed is measured
# by running the benchmarks, never asserted by tests).
if(NOT FACEATTR_BUILD_BENCH)
  return()
endif()
add_test(NAME bench_kernels_smoke
         COMMAND faceattr_bench_kernels --benchmark_min_time=0.001
                 "--benchmark_filter=peak|pool|anet-int8/[1-2]_.*/t[12]|lnet-fp32/[0-1]_.*/t[12]")
add_test(NAME bench_pipeline_smoke
         COMMAND faceattr_bench_pipeline --benchmark_min_time=0.001
                 "--benchmark_filter=net/anet-int8/(simd|xnnpack)/t[12]|crop/anet-fp32/simd/t2|frame/.*int8/simd/t1")
set_tests_properties(bench_kernels_smoke bench_pipeline_smoke PROPERTIES
                     TIMEOUT 120 FAIL_REGULAR_EXPRESSION "ERROR OCCURRED|cannot load|no models")
# faceattr_layers (bench/layers_main.cpp): one line per node of the shipped LNet (12 nodes:
# the last is its sigmoid; median, min, share), the sum and the whole run, here on 2
# threads; a missing file is a clear error.
add_test(NAME bench_layers_smoke COMMAND faceattr_layers ${PROJECT_SOURCE_DIR}/models/lnet-int8.fam --runs 3
         --threads 2)
set_tests_properties(bench_layers_smoke PROPERTIES TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "simd family, 2 threads.*  16 +[0-9.]+ +[0-9.]+ +[0-9.]+% +Sigmoid 1x12x16x5 -> 1x12x16x5\n +sum +[0-9.]+\n +run +[0-9.]+ +[0-9.]+")
add_test(NAME bench_layers_missing_file COMMAND faceattr_layers ${PROJECT_SOURCE_DIR}/models/no-such-model.fam)
set_tests_properties(bench_layers_missing_file PROPERTIES PASS_REGULAR_EXPRESSION "error: cannot open .*no-such-model.fam")
