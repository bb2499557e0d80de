# Tests of native/: the `faceattr` CLI (every subcommand, every error path) and
# the installed package (exported symbols, `cmake --install`, consumers through
# find_package shared/static and pkg-config). Inputs and the results they must
# give come from faceattr_native_fixtures (tests/native/make_fixtures.cpp).
if(NOT TARGET faceattr_cli)
  return()
endif()

find_package(nlohmann_json CONFIG REQUIRED)
find_package(libjpeg-turbo CONFIG REQUIRED)
find_package(ZLIB REQUIRED)
find_path(FACEATTR_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)

add_executable(faceattr_native_fixtures native/make_fixtures.cpp unit/support_tiny_models.cpp)
target_include_directories(faceattr_native_fixtures PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${FACEATTR_STB_INCLUDE_DIR})
target_link_libraries(faceattr_native_fixtures PRIVATE
  faceattr_modelfile_writer nlohmann_json::nlohmann_json libjpeg-turbo::turbojpeg ZLIB::ZLIB)
# Image fixtures (tests/native/image_fixtures.h): libjpeg for CMYK, libexif, libwebp + its mux.
find_package(PkgConfig REQUIRED)
pkg_check_modules(FACEATTR_WEBPMUX REQUIRED IMPORTED_TARGET libwebpmux)
set(FACEATTR_NT_IMAGE_LIBS libjpeg-turbo::turbojpeg libjpeg-turbo::jpeg PkgConfig::FACEATTR_WEBP
    PkgConfig::FACEATTR_WEBPMUX PkgConfig::FACEATTR_EXIF)
target_link_libraries(faceattr_native_fixtures PRIVATE ${FACEATTR_NT_IMAGE_LIBS})

# The CLI's image decoder on JPEG (EXIF orientation, CMYK/YCCK) and WebP inputs built in memory.
add_executable(faceattr_image_decode_tests native/test_image_decode.cpp native/test_image_hostile.cpp
               unit/catch_main.cpp)
target_include_directories(faceattr_image_decode_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(faceattr_image_decode_tests PRIVATE faceattr_cli_common Catch2::Catch2 ZLIB::ZLIB
                      ${FACEATTR_NT_IMAGE_LIBS})
catch_discover_tests(faceattr_image_decode_tests PROPERTIES TIMEOUT 120)

add_executable(faceattr_native_check native/check_output.cpp)
target_include_directories(faceattr_native_check PRIVATE ${FACEATTR_STB_INCLUDE_DIR})
target_link_libraries(faceattr_native_check PRIVATE nlohmann_json::nlohmann_json)

set(FACEATTR_NT_FIX ${CMAKE_CURRENT_BINARY_DIR}/native_fixtures)
set(FACEATTR_NT_RUN ${CMAKE_CURRENT_SOURCE_DIR}/native/run_cli.cmake)
add_test(NAME native_fixtures COMMAND faceattr_native_fixtures ${FACEATTR_NT_FIX})
set_tests_properties(native_fixtures PROPERTIES FIXTURES_SETUP native_fixtures)

# faceattr_cli_test(<name> [ERROR] [OUTPUT_REGEX re] [ERROR_REGEX re] [CHECK "mode|{out}|..."]
#                   [CHECKER target] [OUT_DIR dir] [FIXTURES f...] [TIMEOUT s] [LABELS l...]
#                   [ENV VAR=value...] ARGS <faceattr arguments...>)
# CHECK runs CHECKER (default faceattr_native_check) on the saved stdout (OUT_DIR/<name>.txt,
# default native_out); FIXTURES default to native_fixtures, TIMEOUT to 120 s.
function(faceattr_cli_test name)
  cmake_parse_arguments(T "ERROR" "OUTPUT_REGEX;ERROR_REGEX;CHECK;CHECKER;OUT_DIR;TIMEOUT" "ENV;ARGS;FIXTURES;LABELS"
                        ${ARGN})
  foreach(opt CHECKER OUT_DIR TIMEOUT FIXTURES)
    if(NOT T_${opt})
      set(T_${opt} ${FACEATTR_CLI_TEST_DEFAULT_${opt}})
    endif()
  endforeach()
  set(defs)
  if(T_ERROR)
    list(APPEND defs -DEXPECT=error)
  endif()
  if(T_OUTPUT_REGEX)
    list(APPEND defs "-DOUTPUT_REGEX=${T_OUTPUT_REGEX}")
  endif()
  if(T_ERROR_REGEX)
    list(APPEND defs "-DERROR_REGEX=${T_ERROR_REGEX}")
  endif()
  if(T_CHECK)
    list(APPEND defs -DCHECKER=$<TARGET_FILE:${T_CHECKER}> "-DCHECK_ARGS=${T_CHECK}" -DOUT_FILE=${T_OUT_DIR}/${name}.txt)
  endif()
  add_test(NAME cli_${name}
           COMMAND ${CMAKE_COMMAND} ${defs} -P ${FACEATTR_NT_RUN} -- $<TARGET_FILE:faceattr_cli> ${T_ARGS})
  # An empty FACEATTR_MODEL counts as unset: the developer's own setting must not leak in.
  set(env "FACEATTR_MODEL=")
  if(T_ENV)
    set(env ${T_ENV})
  endif()
  set_tests_properties(cli_${name} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}" ENVIRONMENT "${env}"
                                              TIMEOUT ${T_TIMEOUT})
  if(T_LABELS)
    set_tests_properties(cli_${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
set(FACEATTR_CLI_TEST_DEFAULT_CHECKER faceattr_native_check)
set(FACEATTR_CLI_TEST_DEFAULT_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/native_out)
set(FACEATTR_CLI_TEST_DEFAULT_TIMEOUT 120)
set(FACEATTR_CLI_TEST_DEFAULT_FIXTURES native_fixtures)
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/native_out)

set(F ${FACEATTR_NT_FIX})
set(M ${F}/anet-brightness.fam)
set(C ${F}/celeba)

# --- predict --------------------------------------------------------------
faceattr_cli_test(predict_json ARGS predict --model ${M} --json ${F}/white.jpg
                  CHECK "predict|{out}|${F}/expected_predict.json|1")
faceattr_cli_test(predict_jsonl_two_images ARGS predict -m ${M} --json --threads 2 ${F}/white.jpg ${F}/black.png
                  CHECK "predict|{out}|${F}/expected_predict.json|2")
foreach(b reference xnnpack simd)
  faceattr_cli_test(predict_json_${b} ARGS predict --model ${M} --backend ${b} --json ${F}/white.jpg ${F}/black.png
                    CHECK "predict|{out}|${F}/expected_predict.json|2")
endforeach()
faceattr_cli_test(predict_table ARGS predict --model ${M} ${F}/white.jpg
                  OUTPUT_REGEX "white.jpg \\(24x16\\): 1 face.*attribute +p +present.*5_o_Clock_Shadow +1.000  yes.*Arched_Eyebrows +0.000 ")
faceattr_cli_test(predict_model_from_env ENV FACEATTR_MODEL=${M} ARGS predict --json ${F}/black.png
                  OUTPUT_REGEX "\"Arched_Eyebrows\":{\"p\":0\\.9999[0-9]*,\"present\":true}")

# Decoding: EXIF orientation (a 24x16 JPEG stored sideways is seen as 16x24), a broken EXIF
# block ignored, CMYK JPEG, WebP; a truncated WebP is an error naming the file.
set(D ${F}/decode)
set(FACEATTR_NT_WHITE "1 face.*5_o_Clock_Shadow +1.000  yes.*Arched_Eyebrows +0.000 ")
faceattr_cli_test(predict_exif_rotated_jpeg ARGS predict --model ${M} ${D}/rotated.jpg
                  OUTPUT_REGEX "rotated.jpg \\(16x24\\): ${FACEATTR_NT_WHITE}")
faceattr_cli_test(predict_exif_rotated_jpeg_json ARGS predict --model ${M} --json ${D}/rotated.jpg
                  OUTPUT_REGEX "\"box\":\\[0\\.0,4\\.0,16\\.0,16\\.0\\]")
faceattr_cli_test(predict_bad_exif_jpeg ARGS predict --model ${M} ${D}/bad-exif.jpg
                  OUTPUT_REGEX "bad-exif.jpg \\(24x16\\): ${FACEATTR_NT_WHITE}")
faceattr_cli_test(predict_cmyk_jpeg ARGS predict --model ${M} ${D}/cmyk.jpg
                  OUTPUT_REGEX "cmyk.jpg \\(24x16\\): ${FACEATTR_NT_WHITE}")
faceattr_cli_test(predict_webp ARGS predict --model ${M} ${D}/white.webp
                  OUTPUT_REGEX "white.webp \\(24x16\\): ${FACEATTR_NT_WHITE}")
faceattr_cli_test(error_truncated_webp ERROR ERROR_REGEX "truncated.webp" ARGS predict -m ${M} ${D}/truncated.webp)

# --views 2: a second, mirrored view per face. The brightness model reads the mean of a uniform
# frame, which neither view changes; the shipped ANet on a real photo gives other probabilities.
faceattr_cli_test(predict_views_2 ARGS predict --model ${M} --views 2 --json ${F}/white.jpg
                  CHECK "predict|{out}|${F}/expected_predict.json|1")
faceattr_cli_test(error_views_3 ERROR ERROR_REGEX "--views: Value 3 not in range 1 to 2"
                  ARGS predict --model ${M} --views 3 ${F}/white.jpg)
faceattr_cli_test(bench_views_2_json ARGS bench -m ${F}/anet-tiny-int8.fam --lnet ${F}/lnet/lnet-tiny.fam
                  --image ${F}/lnet/red.png --views 2 --runs 2 --warmup 0 --json OUTPUT_REGEX "\"views\":2,")

# --- explain ----------------------------------------------------------------
set(XO ${CMAKE_CURRENT_BINARY_DIR}/native_out)
faceattr_cli_test(explain_json ARGS explain -m ${M} --attrs Male,Young --json ${F}/white.jpg ${F}/black.png
                  CHECK "explain|{out}|2|Male,Young")
faceattr_cli_test(explain_lnet_json ARGS explain -m ${M} --lnet ${F}/lnet/lnet-tiny.fam --attrs Smiling --json ${F}/lnet/red.png
                  CHECK "explain|{out}|1|Smiling")
# The shipped ANet carries concept heads: 5 terms per attribute.
faceattr_cli_test(explain_concepts_json ARGS explain -m ${PROJECT_SOURCE_DIR}/models/anet-int8.fam --no-localize
                  --attrs Smiling,Eyeglasses --json ${F}/white.jpg CHECK "explain|{out}|1|Smiling,Eyeglasses|5")
faceattr_cli_test(explain_concepts_text ARGS explain -m ${PROJECT_SOURCE_DIR}/models/anet-int8.fam --no-localize
                  --attrs Smiling ${F}/white.jpg OUTPUT_REGEX "  Smiling +p [01]\\.[0-9]+  peak \\([^\n]*\n +[+-][0-9]+\\.[0-9][0-9]  [a-z-]+: ")
faceattr_cli_test(explain_text ARGS explain -m ${M} --attrs Male ${F}/white.jpg
                  OUTPUT_REGEX "white.jpg \\(24x16\\): 1 face\nface 1: box x=4 y=0 w=16 h=16\n  Male +p [01]\\.[0-9]+  peak \\(")
# Without --attrs: the attributes predicted present (white.jpg: 5_o_Clock_Shadow, not Arched_Eyebrows).
faceattr_cli_test(explain_default_attrs ARGS explain -m ${M} ${F}/white.jpg
                  OUTPUT_REGEX "  5_o_Clock_Shadow +p 1.000")
faceattr_cli_test(explain_png ARGS explain -m ${M} --lnet ${F}/lnet/lnet-tiny.fam --attrs Smiling,Male
                  --out ${XO}/explain_png ${F}/lnet/red.png OUTPUT_REGEX "2 faces")
add_test(NAME cli_explain_png_decodes COMMAND faceattr_native_check png ${XO}/explain_png/red_face2_Male.png 320 240)
set_tests_properties(cli_explain_png_decodes PROPERTIES DEPENDS cli_explain_png FIXTURES_REQUIRED native_fixtures)
faceattr_cli_test(error_explain_bad_attr ERROR ERROR_REGEX "unknown attribute 'Smilin' in --attrs; the model's attributes: 5_o_Clock_Shadow"
                  ARGS explain -m ${M} --attrs Smilin ${F}/white.jpg)
faceattr_cli_test(error_explain_no_image ERROR ERROR_REGEX "explain needs IMAGE files" ARGS explain -m ${M})

# --- eval -------------------------------------------------------------------
faceattr_cli_test(eval_gz_json ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt.gz --json --threads 2
                  CHECK "eval|{out}|${C}/expected_eval.json")
faceattr_cli_test(eval_plain_limit_json ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt
                  --limit 2 --threads 1 --json CHECK "eval|{out}|${C}/expected_eval_limit2.json")
faceattr_cli_test(eval_text ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt.gz
                  OUTPUT_REGEX "evaluated 4 images \\(1 listed images not in .*mean accuracy +0\\.[0-9]+.*Young")
# The summary line, the ECE and distinct-p columns, the calibration line and the slice table: the
# brightness model's p is within 1e-4 of 0 or 1 (ECE = 1 - accuracy), one value per image colour.
faceattr_cli_test(eval_text_calibration_slices ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt.gz
                  OUTPUT_REGEX "mean accuracy 0\\.5000, mean balanced accuracy 0\\.5000\n\nattribute +accuracy +balanced +positives +ECE +distinct p\n5_o_Clock_Shadow +0\\.2500 +0\\.1667 +0\\.7500 +0\\.7500 +2\n.*calibration \\(15 equal-width bins\\): mean ECE 0\\.5000; distinct probabilities per attribute: min 2, median 2\n\nslices by the labels Male x Young x Pale_Skin \\(95% bootstrap intervals, 1000 resamples\\)\n.*female, not young, not pale +0 +- .*female, young, pale +1 +0\\.5000 +\\[0\\.5000, 0\\.5000\\] .*male, young, pale +2 +0\\.5000 .*worst slice: none has 10 or more images")
# --split with --images: CelebA people (make_fixtures.cpp: identities 10, 3, 20, 7, 30; dev = divisible
# by 10), from identity_CelebA.txt beside the attribute file or --identities (here gzip'd).
faceattr_cli_test(eval_split_dev_json ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt.gz
                  --split dev --json CHECK "eval|{out}|${C}/expected_eval_dev.json")
faceattr_cli_test(eval_split_train_json ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt
                  --split train --identities ${C}/identity.txt.gz --json CHECK "eval|{out}|${C}/expected_eval_train.json")
faceattr_cli_test(eval_split_dev_text ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt
                  --split dev OUTPUT_REGEX "evaluated 3 images, [^\n]*\nsplit dev: 3 listed images of people whose CelebA identity is divisible by 10 \\([^\n]*identity_CelebA.txt\\)\n")
# --limit stops the evaluation, not the count of the split's images.
faceattr_cli_test(eval_split_dev_limit_text ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt
                  --split dev --limit 1 OUTPUT_REGEX "evaluated 1 images, [^\n]*\nsplit dev: 3 listed images of people")
# Several folders, searched in order: the fixture's images split over two folders give the full result.
faceattr_cli_test(eval_two_folders_json ARGS eval --model ${M} --images ${C}/img_a --images ${C}/img_b
                  --attrs ${C}/list_attr.txt.gz --json CHECK "eval|{out}|${C}/expected_eval.json")
faceattr_cli_test(error_eval_split_partial_identities ERROR
                  ERROR_REGEX "image '000004.jpg' of '[^']*list_attr.txt' has no identity in '[^']*identity_partial.txt'"
                  ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt --split train
                  --identities ${C}/identity_partial.txt)
faceattr_cli_test(error_eval_split_bad_identities ERROR
                  ERROR_REGEX "identity file '[^']*identity_bad.txt' line 2: identity 'x3' is not a non-negative integer"
                  ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt --split dev
                  --identities ${C}/identity_bad.txt)
faceattr_cli_test(error_eval_split_no_identities ERROR
                  ERROR_REGEX "--split dev needs the CelebA identity file: pass --identities FILE"
                  ARGS eval --model ${M} --images ${C}/img --attrs ${C}/noid/list_attr.txt --split dev)
faceattr_cli_test(error_eval_scenes_two_folders ERROR ERROR_REGEX "--scenes takes one --images folder"
                  ARGS eval --model ${M} --lnet ${F}/lnet/lnet-tiny.fam --images ${C}/img_a --images ${C}/img_b
                  --attrs ${C}/list_attr.txt --scenes 4)
faceattr_cli_test(eval_html ARGS eval --model ${M} --images ${C}/img --attrs ${C}/list_attr.txt.gz
                  --html ${CMAKE_CURRENT_BINARY_DIR}/native_out/report.html)
add_test(NAME cli_eval_html_report COMMAND faceattr_native_check html
         ${CMAKE_CURRENT_BINARY_DIR}/native_out/report.html ${C}/expected_eval.json)
set_tests_properties(cli_eval_html_report PROPERTIES DEPENDS cli_eval_html FIXTURES_REQUIRED native_fixtures)

# --- decision thresholds: --thresholds accuracy|balanced, info's balanced column --------
# anet-balanced.fam has both policies; on grey.png half its attributes lie between the two
# thresholds (make_fixtures.cpp: policy_thresholds). anet-brightness.fam has no balanced ones.
set(B ${F}/anet-balanced.fam)
set(FACEATTR_NT_POLICY ${F}/expected_thresholds.json)
faceattr_cli_test(predict_thresholds_default ARGS predict -m ${B} --json ${F}/grey.png
                  CHECK "thresholds|{out}|${FACEATTR_NT_POLICY}|accuracy|1")
faceattr_cli_test(predict_thresholds_accuracy ARGS predict -m ${B} --thresholds accuracy --json ${F}/grey.png
                  CHECK "thresholds|{out}|${FACEATTR_NT_POLICY}|accuracy|1")
faceattr_cli_test(predict_thresholds_balanced ARGS predict -m ${B} --thresholds balanced --json ${F}/grey.png
                  CHECK "thresholds|{out}|${FACEATTR_NT_POLICY}|balanced|1")
# Tracked frames: the tracker decides with the same thresholds.
faceattr_cli_test(predict_track_thresholds_balanced ARGS predict -m ${B} --track --thresholds balanced --json
                  ${F}/grey.png ${F}/grey.png ${F}/grey.png CHECK "thresholds|{out}|${FACEATTR_NT_POLICY}|balanced|3")
# explain without --attrs explains the present attributes: Arched_Eyebrows (p 0.490) only when balanced.
faceattr_cli_test(explain_thresholds_balanced ARGS explain -m ${B} --thresholds balanced ${F}/grey.png
                  OUTPUT_REGEX "  Arched_Eyebrows +p 0\\.490")
# On the CelebA fixture p is near 0 or 1, so both policies give the expected accuracies.
faceattr_cli_test(eval_thresholds_balanced_json ARGS eval -m ${B} --thresholds balanced --images ${C}/img
                  --attrs ${C}/list_attr.txt.gz --json CHECK "eval|{out}|${C}/expected_eval.json")
faceattr_cli_test(eval_thresholds_balanced_text ARGS eval -m ${B} --thresholds balanced --images ${C}/img
                  --attrs ${C}/list_attr.txt.gz OUTPUT_REGEX "evaluated 4 images [^\n]*, backend [a-z]+, balanced thresholds\n")
faceattr_cli_test(info_thresholds_balanced ARGS info --model ${B}
                  OUTPUT_REGEX "  name +threshold +balanced\n  5_o_Clock_Shadow +0\\.500 +0\\.400\n  Arched_Eyebrows +0\\.500 +0\\.400\n  Attractive +0\\.500 +0\\.600\n")
faceattr_cli_test(info_thresholds_accuracy_only ARGS info --model ${M}
                  OUTPUT_REGEX "  name +threshold\n  5_o_Clock_Shadow +0\\.300\n")
set(FACEATTR_NT_NO_BALANCED "--thresholds balanced: model '[^']*anet-brightness.fam' has no balanced thresholds")
faceattr_cli_test(error_predict_no_balanced_thresholds ERROR ERROR_REGEX "${FACEATTR_NT_NO_BALANCED}"
                  ARGS predict -m ${M} --thresholds balanced ${F}/white.jpg)
faceattr_cli_test(error_explain_no_balanced_thresholds ERROR ERROR_REGEX "${FACEATTR_NT_NO_BALANCED}"
                  ARGS explain -m ${M} --thresholds balanced ${F}/white.jpg)
faceattr_cli_test(error_eval_no_balanced_thresholds ERROR ERROR_REGEX "${FACEATTR_NT_NO_BALANCED}"
                  ARGS eval -m ${M} --thresholds balanced --images ${C}/img --attrs ${C}/list_attr.txt)
faceattr_cli_test(error_bad_thresholds ERROR ERROR_REGEX "--thresholds" ARGS predict -m ${B} --thresholds best ${F}/grey.png)

# --- LNet: predict, discovery by eval --scenes, eval on crops and on composed scenes ------
set(L ${F}/lnet)
faceattr_cli_test(predict_lnet_json ARGS predict -m ${M} --lnet ${L}/lnet-tiny.fam --json ${L}/red.png
                  OUTPUT_REGEX "^{\"image\":[^\n]*\"faces\":\\[{\"box\":\\[40\\.0,40\\.0,80\\.0,80\\.0\\],\"score\":0\\.99[^\n]*{\"box\":\\[200\\.0,120\\.0,64\\.0,64\\.0\\],\"score\":0\\.99")
# predict localises by default with the LNet beside the ANet (lnet-int8.fam); --no-localize
# (alias --no-lnet) takes the image as one face.
faceattr_cli_test(predict_lnet_discovered ARGS predict -m ${L}/withlnet/anet-int8.fam ${L}/red.png
                  OUTPUT_REGEX "red.png \\(320x240\\): 2 faces\nface 1: box x=40 y=40 w=80 h=80, score 0.99")
faceattr_cli_test(predict_no_localize ARGS predict -m ${L}/withlnet/anet-int8.fam --no-localize ${L}/red.png
                  OUTPUT_REGEX "red.png \\(320x240\\): 1 face\n.*score 1.000")
faceattr_cli_test(predict_no_lnet ARGS predict -m ${L}/withlnet/anet-int8.fam --no-lnet ${L}/red.png
                  OUTPUT_REGEX "red.png \\(320x240\\): 1 face\n.*score 1.000")
faceattr_cli_test(predict_lnet_no_face ARGS predict -m ${M} --lnet ${L}/lnet-tiny.fam ${F}/white.jpg
                  OUTPUT_REGEX "white.jpg \\(24x16\\): 0 faces")
faceattr_cli_test(eval_lnet_crops ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --images ${L}/scenes/img
                  --attrs ${C}/list_attr.txt --json
                  OUTPUT_REGEX "\"n_images\":4,.*\"no_face_images\":0,\"centre_crop\":{\"n_faces\":4,")
# With an LNet too: ECE and distinct p per attribute (the red faces: Male p = sigmoid(-10/3) on
# all four, three labelled Male), calibration, slices.
faceattr_cli_test(eval_lnet_calibration_json ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --images ${L}/scenes/img
                  --attrs ${C}/list_attr.txt --json
                  OUTPUT_REGEX "\"Male\":{\"accuracy\":0\\.25,\"balanced_accuracy\":0\\.5,\"centre_crop_accuracy\":0\\.25,\"ece\":0\\.71555[0-9]*,\"distinct_p\":1}.*\"calibration\":{\"bins\":15,\"mean_ece\":0\\.46555[0-9]*,\"distinct_p_min\":1,\"distinct_p_median\":1\\.0},\"slices\":{\"by\":\\[\"Male\",\"Young\",\"Pale_Skin\"\\],\"bootstrap\":{\"resamples\":1000,[^\n]*\"slice\":\"male, young, pale\",\"Male\":true,\"Young\":true,\"Pale_Skin\":true,\"n\":2,\"mean_accuracy\":0\\.5,\"mean_accuracy_ci95\":\\[0\\.5,0\\.5\\],[^\n]*\"worst_by_mean_balanced_accuracy\":null,")
# Two touching red faces merge into one region for the tiny LNet: most, not all, are found.
faceattr_cli_test(eval_scenes_json ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --images ${L}/scenes/img
                  --attrs ${C}/list_attr.txt --objects ${L}/scenes/objects --scenes 40 --seed 3 --threads 2 --json
                  OUTPUT_REGEX "\"scenes\":40,.*\"found_rate\":(1\\.0|0\\.9[0-9]*),.*\"false_faces_per_face_free_scene\":0\\.0,\"face_free_scenes_with_a_face\":0\\.0,")
faceattr_cli_test(eval_scenes_text ARGS eval -m ${L}/withlnet/anet-int8.fam --images ${L}/scenes/img
                  --attrs ${C}/list_attr.txt --objects ${L}/scenes/objects --scenes 12 --threads 1
                  OUTPUT_REGEX "12 scenes 320x240 \\(seed 1\\).*found \\(IoU >= 0.5\\) +1.0000.*end to end")
# bench times what predict runs: the discovered LNet + ANet on a 640x480 frame with one face.
faceattr_cli_test(bench_lnet_discovered ARGS bench -m ${L}/withlnet/anet-int8.fam --image ${L}/scenes/objects/obj0.jpg
                  --size 640x480 --paste ${L}/scenes/img/000001.jpg --grid 3x3 --backend reference --runs 2 --warmup 1 --json
                  OUTPUT_REGEX "\"lnet\":\"[^\"]*withlnet/lnet-int8.fam\".*\"width\":640,\"height\":480,.*\"lnet_ms\":{\"median\":[0-9.]*[1-9][0-9.]*,.*\"faces\":1,")
faceattr_cli_test(bench_lnet ARGS bench -m ${F}/anet-tiny-int8.fam --lnet ${L}/lnet-tiny.fam --image ${L}/red.png
                  --backend all --runs 3 --warmup 1 --json
                  OUTPUT_REGEX "\"lnet\":\"[^\"]*lnet-tiny.fam\".*\"backend\":\"reference\",\"preprocess_ms\".*\"faces\":2")
faceattr_cli_test(info_lnet ARGS info --model ${L}/lnet-tiny.fam
                  OUTPUT_REGEX "kind +lnet.*input +160x120x3.*response map 40x30 \\(width x height\\), cells of 4x4")
faceattr_cli_test(error_scenes_without_lnet ERROR ERROR_REGEX "needs an LNet"
                  ARGS eval -m ${L}/withlnet/anet-int8.fam --no-lnet --images ${L}/scenes/img --attrs ${C}/list_attr.txt
                  --objects ${L}/scenes/objects --scenes 5)
faceattr_cli_test(error_scenes_no_objects ERROR ERROR_REGEX "object photo folder"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --images ${L}/scenes/img --attrs ${C}/list_attr.txt
                  --objects ${L}/nothing --scenes 5)
# eval --real-scenes / --mtfl on the red-square fixtures (make_fixtures.cpp: make_real_scenes,
# make_mtfl): every number follows from which true boxes match exactly, leniently, or not at all.
faceattr_cli_test(eval_real_scenes_json ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --real-scenes ${L}/real --json
                  OUTPUT_REGEX "^{\"images\":3,\"split\":\"all\",\"face_boxes\":7,\"min_face_height\":24\\.0,\"faces\":6,\"found_iou\":3,\"recall_iou\":0\\.5,\"found_lenient\":4,\"recall_lenient\":0\\.666666[0-9]*,\"mean_iou_found\":1\\.0,\"predicted_boxes\":5,\"false_faces\":1,\"false_faces_per_image\":0\\.333333[0-9]*,\"by_size\":{\"24-39\":{\"faces\":2,\"found_iou\":0,\"recall_iou\":0\\.0,\"found_lenient\":0,[^}]*},\"40-79\":{\"faces\":3,\"found_iou\":2,[^}]*\"found_lenient\":3,[^}]*},\">=80\":{\"faces\":1,\"found_iou\":1,[^}]*},\"<24\":{\"faces\":1,\"found_iou\":0,[^}]*}},\"by_label\":{\"mask_weared_incorrect\":{\"faces\":1,\"found_iou\":1,[^}]*},\"with_mask\":{\"faces\":3,\"found_iou\":1,[^}]*\"found_lenient\":1,[^}]*},\"without_mask\":{\"faces\":2,\"found_iou\":1,\"recall_iou\":0\\.5,\"found_lenient\":2,\"recall_lenient\":1\\.0}}")
faceattr_cli_test(eval_real_scenes_dev ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --real-scenes ${L}/real --split dev --json --threads 2
                  OUTPUT_REGEX "^{\"images\":2,\"split\":\"dev\",\"face_boxes\":5,[^\n]*\"faces\":4,\"found_iou\":2,\"recall_iou\":0\\.5,\"found_lenient\":3,\"recall_lenient\":0\\.75,[^\n]*\"false_faces\":1,\"false_faces_per_image\":0\\.5,")
faceattr_cli_test(eval_real_scenes_train_text ARGS eval -m ${L}/withlnet/anet-int8.fam --real-scenes ${L}/real --split train
                  OUTPUT_REGEX "split train: 1 images, 2 face boxes \\(2 at least 24 px tall, counted\\).*faces >= 24 px tall +2 +0\\.5000 +0\\.5000.*false faces per image +0\\.0000")
faceattr_cli_test(eval_mtfl_json ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --mtfl ${L}/mtfl/training.txt --json --threads 2
                  OUTPUT_REGEX "^{\"images\":6,\"found_iou\":3,\"found_rate_iou\":0\\.5,\"found_lenient\":4,\"found_rate_lenient\":0\\.666666[0-9]*,\"split\":\"all\",\"mean_iou_found\":1\\.0,\"by_pose\":{\"frontal\":{\"images\":3,\"found_iou\":2,[^}]*\"found_lenient\":2,[^}]*},\"non_frontal\":{\"images\":3,\"found_iou\":1,[^}]*\"found_lenient\":2,[^}]*}},\"attributes\":{\"Male\":{\"accuracy\":0\\.333333[0-9]*,[^}]*\"accuracy_found\":0\\.5,[^}]*},\"Smiling\":{\"accuracy\":0\\.5,[^}]*\"accuracy_found\":0\\.75,[^}]*},\"Eyeglasses\":{\"accuracy\":0\\.1666666[0-9]*,[^}]*\"accuracy_found\":0\\.25,")
faceattr_cli_test(eval_mtfl_dev_text ARGS eval -m ${L}/withlnet/anet-int8.fam --mtfl ${L}/mtfl/training.txt --split dev
                  OUTPUT_REGEX "split dev: 1 images.*all +1 +1\\.0000 +1\\.0000.*Male +1\\.0000")
faceattr_cli_test(eval_mtfl_train_limit ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --mtfl ${L}/mtfl/training.txt --split train --limit 2 --json
                  OUTPUT_REGEX "^{\"images\":2,\"found_iou\":0,\"found_rate_iou\":0\\.0,\"found_lenient\":1,")
faceattr_cli_test(error_real_scenes_no_lnet ERROR ERROR_REGEX "--real-scenes needs an LNet"
                  ARGS eval -m ${L}/withlnet/anet-int8.fam --no-lnet --real-scenes ${L}/real)
faceattr_cli_test(error_mtfl_no_lnet ERROR ERROR_REGEX "--mtfl needs an LNet"
                  ARGS eval -m ${M} --mtfl ${L}/mtfl/training.txt)
faceattr_cli_test(error_real_scenes_no_boxes ERROR ERROR_REGEX "cannot open '.*scenes/boxes.tsv'"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --real-scenes ${L}/scenes)
faceattr_cli_test(error_real_scenes_bad_line ERROR ERROR_REGEX "real_bad/boxes.tsv:2: expected image"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --real-scenes ${L}/real_bad)
faceattr_cli_test(error_real_scenes_missing_image ERROR ERROR_REGEX "boxes.tsv:1: image '.*maksssksksss9.jpg' does not exist"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --real-scenes ${L}/real_missing)
faceattr_cli_test(error_mtfl_missing_file ERROR ERROR_REGEX "cannot open MTFL file '.*nope.txt'"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --mtfl ${L}/mtfl/nope.txt)
faceattr_cli_test(error_mtfl_bad_line ERROR ERROR_REGEX "training_bad.txt:2: expected 'path x1..x5"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --mtfl ${L}/mtfl/training_bad.txt)
faceattr_cli_test(error_mtfl_missing_image ERROR ERROR_REGEX "training_missing.txt:1: image '.*nope.png' does not exist"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --mtfl ${L}/mtfl/training_missing.txt)
# eval --utkface on the solid-colour chips (make_fixtures.cpp: make_utkface): red and magenta fill
# the frame (faces; Male no / yes), light grey is no face (whole image: Male yes); two names are
# not in the pattern. Every count and accuracy per age band and race group follows.
faceattr_cli_test(eval_utkface_json ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --utkface ${L}/utkface --json --threads 2
                  OUTPUT_REGEX "^{\"images\":7,\"malformed_names\":2,\"faces_found\":6,\"found_rate\":0\\.857142[0-9]*,\"Male\":{\"all\":{\"images\":7,\"faces_found\":6,\"accuracy\":0\\.571428[0-9]*,\"balanced_accuracy\":0\\.583333[0-9]*,\"accuracy_found\":0\\.666666[0-9]*,\"balanced_accuracy_found\":0\\.666666[0-9]*,\"mean_p_label_found\":0\\.65518[0-9]*},\"adults\":{\"images\":5,\"faces_found\":4,\"accuracy\":0\\.8,\"balanced_accuracy\":0\\.833333[0-9]*,\"accuracy_found\":1\\.0,\"balanced_accuracy_found\":1\\.0,\"mean_p_label_found\":0\\.96555[0-9]*},\"by_age\":{\"0-12\":{\"images\":1,\"faces_found\":1,\"accuracy\":0\\.0,[^}]*\"mean_p_label_found\":0\\.03444[0-9]*},\"13-19\":{\"images\":1,\"faces_found\":1,\"accuracy\":0\\.0,[^}]*},\"20-39\":{\"images\":2,\"faces_found\":2,\"accuracy\":1\\.0,[^}]*},\"40-59\":{\"images\":1,\"faces_found\":1,\"accuracy\":1\\.0,[^}]*},\"60\\+\":{\"images\":2,\"faces_found\":1,\"accuracy\":0\\.5,\"balanced_accuracy\":0\\.5,\"accuracy_found\":1\\.0,[^}]*}},\"by_race\":{\"White\":{\"images\":2,\"faces_found\":2,\"accuracy\":1\\.0,[^}]*},\"Black\":{\"images\":1,\"faces_found\":1,\"accuracy\":0\\.0,[^}]*},\"Asian\":{\"images\":1,\"faces_found\":1,\"accuracy\":0\\.0,[^}]*},\"Indian\":{\"images\":1,\"faces_found\":1,\"accuracy\":1\\.0,[^}]*},\"Others\":{\"images\":2,\"faces_found\":1,\"accuracy\":0\\.5,[^}]*\"accuracy_found\":1\\.0,[^}]*}}},\"anet\":\"[^\"]*anet-brightness.fam\",\"lnet\":\"[^\"]*lnet-tiny.fam\",")
# The fairness report of the same run: accuracy (no face = wrong) with bootstrap intervals by sex,
# age band, race, race among adults and per race x age band x sex cell (50), the worst groups
# (no cell has 10 images: none named; among adults Others, 1 of 2), and the children: the one
# boy's face, p(Male) = sigmoid(-10/3), confidently wrong.
faceattr_cli_test(eval_utkface_fairness_json ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --utkface ${L}/utkface --json
                  OUTPUT_REGEX "\"split\":\"all\",\"split_images\":7,\"chips\":7,\"fairness\":{\"bootstrap\":{\"resamples\":1000,\"seed\":[0-9]+,\"level\":0\\.95},\"all\":{\"n\":7,\"correct\":4,\"accuracy\":0\\.571428[0-9]*,\"ci95\":\\[0\\.[0-9]+,0\\.[0-9]+\\]},\"by_sex\":{\"male\":{\"n\":4,\"correct\":2,\"accuracy\":0\\.5,\"ci95\":\\[0\\.0,1\\.0\\]},\"female\":{\"n\":3,\"correct\":2,[^}]*}},\"by_age\":{\"0-12\":{\"n\":1,\"correct\":0,\"accuracy\":0\\.0,\"ci95\":\\[0\\.0,0\\.0\\]},[^\n]*\"by_race_adults\":{\"White\":{\"n\":2,\"correct\":2,\"accuracy\":1\\.0,\"ci95\":\\[1\\.0,1\\.0\\]},\"Black\":{\"n\":0,\"correct\":0,\"accuracy\":null,\"ci95\":null},[^\n]*\"cells\":\\[{\"race\":\"White\",\"age\":\"0-12\",\"sex\":\"male\",\"n\":0,[^\n]*{\"race\":\"Others\",\"age\":\"60\\+\",\"sex\":\"female\",\"n\":1,\"correct\":1,\"accuracy\":1\\.0,\"ci95\":\\[1\\.0,1\\.0\\]}\\],\"worst_cells_min_images\":10,\"worst_cells\":\\[\\],\"worst_race_adults\":{\"race\":\"Others\",\"n\":2,\"correct\":1,\"accuracy\":0\\.5,\"ci95\":\\[0\\.0,1\\.0\\]}},\"children\":{\"ages\":\"0-12\",\"images\":1,\"faces_found\":1,\"boys_found\":1,\"girls_found\":0,\"mean_p_male\":0\\.03444[0-9]*,\"mean_p_male_boys\":0\\.03444[0-9]*,\"mean_p_male_girls\":null,\"mean_abs_p_minus_half\":0\\.46555[0-9]*,\"confident_margin\":0\\.3,\"confident_share\":1\\.0,\"confident_wrong_share\":1\\.0}}")
# --split: dev holds the chips whose DATETIME ends in 0, 1 or 2 (...001 and ...002: the White man
# and woman, both right), train the other five.
faceattr_cli_test(eval_utkface_split_dev ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --utkface ${L}/utkface --split dev --json
                  OUTPUT_REGEX "^{\"images\":2,\"malformed_names\":2,\"faces_found\":2,\"found_rate\":1\\.0,\"Male\":{\"all\":{\"images\":2,\"faces_found\":2,\"accuracy\":1\\.0,[^\n]*\"split\":\"dev\",\"split_images\":2,\"chips\":7,\"fairness\":{[^\n]*\"by_race\":{\"White\":{\"n\":2,\"correct\":2,\"accuracy\":1\\.0,\"ci95\":\\[1\\.0,1\\.0\\]},\"Black\":{\"n\":0,[^\n]*\"children\":{\"ages\":\"0-12\",\"images\":0,\"faces_found\":0,")
# The first 4 of train in name order: 15_1_2 (wrong), 45_0_3 (right), 62_1_4 (right), 70_0_4 (no face).
faceattr_cli_test(eval_utkface_split_train_text ARGS eval -m ${L}/withlnet/anet-int8.fam --utkface ${L}/utkface --split train --limit 4
                  OUTPUT_REGEX "utkface: 4 images \\(2 files[^\n]*\nsplit train: 5 of 7 chips \\(dev: DATETIME ending in 0, 1 or 2; train: the rest\\), the first 4 \\(--limit\\)\n.*\nall +4 +3 +0\\.5000 +\\[0\\.0000, 1\\.0000\\] .*\nage 0-12 +0 +0 +- +- .*\nmale +2 +1 +0\\.5000 .*worst race among adults: Others, 0\\.5000 \\[0\\.0000, 1\\.0000\\] \\(2 images\\)\nchildren \\(0-12\\): no face found")
faceattr_cli_test(eval_utkface_whole_image ARGS eval -m ${L}/withlnet/anet-int8.fam --no-localize --utkface ${L}/utkface --json
                  OUTPUT_REGEX "^{\"images\":7,\"malformed_names\":2,\"faces_found\":7,\"found_rate\":1\\.0,\"Male\":{\"all\":{\"images\":7,\"faces_found\":7,\"accuracy\":0\\.714285[0-9]*,\"balanced_accuracy\":0\\.708333[0-9]*,[^}]*},\"adults\":{\"images\":5,\"faces_found\":5,\"accuracy\":1\\.0,[^\n]*\"60\\+\":{\"images\":2,\"faces_found\":2,\"accuracy\":1\\.0,\"balanced_accuracy\":1\\.0,\"accuracy_found\":1\\.0,\"balanced_accuracy_found\":1\\.0,\"mean_p_label_found\":0\\.97962[0-9]*}[^\n]*\"lnet\":null,")
faceattr_cli_test(eval_utkface_limit ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --utkface ${L}/utkface --limit 3 --json
                  OUTPUT_REGEX "^{\"images\":3,\"malformed_names\":2,\"faces_found\":3,[^\n]*\"all\":{\"images\":3,\"faces_found\":3,\"accuracy\":0\\.666666[0-9]*,\"balanced_accuracy\":0\\.75,[^\n]*\"by_age\":{\"0-12\":{\"images\":0,\"faces_found\":0,\"accuracy\":null,\"balanced_accuracy\":null,\"accuracy_found\":null,\"balanced_accuracy_found\":null,\"mean_p_label_found\":null},\"13-19\":{\"images\":1,\"faces_found\":1,\"accuracy\":0\\.0,[^}]*},\"20-39\":{\"images\":2,\"faces_found\":2,\"accuracy\":1\\.0,")
faceattr_cli_test(eval_utkface_text ARGS eval -m ${L}/withlnet/anet-int8.fam --utkface ${L}/utkface
                  OUTPUT_REGEX "utkface: 7 images \\(2 files not named age_gender_race_datetime.jpg.chip.jpg, skipped\\)\nsplit all: 7 of 7 chips [^\n]*\nmodels [^\n]*withlnet/anet-int8.fam \\+ [^\n]*withlnet/lnet-int8.fam, backend [a-z]+\nfaces found  6 of 7 \\(0\\.8571\\)\n.*\nall +7 +6 +0\\.5714 +\\[0\\.[0-9]+, 0\\.[0-9]+\\] +0\\.5833 +0\\.6667 +0\\.6667 +0\\.6552\nadults \\(>= 20\\) +5 +4 +0\\.8000 +\\[0\\.[0-9]+, 1\\.0000\\] +0\\.8333 +1\\.0000 +1\\.0000 +0\\.9656\nage 0-12 +1 +1 +0\\.0000 +\\[0\\.0000, 0\\.0000\\] .*\nage 60\\+ +2 +1 +0\\.5000 .*\nOthers +2 +1 +0\\.5000 +\\[0\\.0000, 1\\.0000\\] +0\\.5000 +1\\.0000 .*\nmale +4 +3 +0\\.5000 .*\nfemale +3 +3 +0\\.6667 .*\nadults Black +0 +0 +- +- .*worst cells \\(race x age band x sex\\): none has 10 or more images\nworst race among adults: Others, 0\\.5000 \\[0\\.0000, 1\\.0000\\] \\(2 images\\)\nchildren ")
# The files not in the pattern are named on stderr (warnings), and the run still succeeds.
add_test(NAME cli_eval_utkface_warnings
         COMMAND faceattr_cli eval -m ${M} --no-localize --utkface ${L}/utkface --json)
set_tests_properties(cli_eval_utkface_warnings PROPERTIES FIXTURES_REQUIRED native_fixtures ENVIRONMENT "FACEATTR_MODEL="
  PASS_REGULAR_EXPRESSION "warning: '[^'\n]*utkface/39_1_20170116174525125\\.jpg\\.chip\\.jpg' is not named age_gender_race_datetime\\.jpg\\.chip\\.jpg, skipped\nfaceattr: warning: '[^'\n]*utkface/notes\\.txt' is not named[^\n]*\n.*\"images\":7,")
faceattr_cli_test(error_utkface_missing_dir ERROR ERROR_REGEX "UTKFace folder '.*lnet/nodir' does not exist"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --utkface ${L}/nodir)
faceattr_cli_test(error_utkface_empty_dir ERROR ERROR_REGEX "no UTKFace images \\(age_gender_race_datetime.jpg.chip.jpg\\) in '.*utkface_empty'"
                  ARGS eval -m ${M} --lnet ${L}/lnet-tiny.fam --utkface ${L}/utkface_empty)
faceattr_cli_test(error_utkface_bad_split ERROR ERROR_REGEX "--split: dev-set not in {all,dev,train}"
                  ARGS eval -m ${M} --utkface ${L}/utkface --split dev-set)
faceattr_cli_test(error_utkface_with_mtfl ERROR ERROR_REGEX "excludes"
                  ARGS eval -m ${M} --utkface ${L}/utkface --mtfl ${L}/mtfl/training.txt)
faceattr_cli_test(error_eval_no_mode ERROR ERROR_REGEX "needs --images DIR and --attrs FILE" ARGS eval -m ${M})
faceattr_cli_test(error_real_scenes_with_scenes ERROR ERROR_REGEX "excludes"
                  ARGS eval -m ${M} --real-scenes ${L}/real --scenes 5)
faceattr_cli_test(error_lnet_wrong_kind_named ERROR ERROR_REGEX "with LNet .*anet-tiny-int8.fam.*LNet slot"
                  ARGS predict -m ${M} --lnet ${F}/anet-tiny-int8.fam ${L}/red.png)
faceattr_cli_test(error_lnet_and_no_lnet ERROR ERROR_REGEX "excludes"
                  ARGS predict -m ${M} --lnet ${L}/lnet-tiny.fam --no-lnet ${L}/red.png)

# --- bench / info / help ----------------------------------------------------
faceattr_cli_test(bench_all_json ARGS bench --model ${F}/anet-tiny-int8.fam --backend all --runs 5 --warmup 1 --json
                  CHECK "bench|{out}")
faceattr_cli_test(bench_table ARGS bench --model ${M} --runs 3 --warmup 0 --backend reference --image ${F}/white.jpg
                  OUTPUT_REGEX "image .*white.jpg 24x16.*reference +[0-9.]+ +[0-9.]+ .* 1.00x")
# bench's scaling options: --size sets the frame, --paste puts n red crops on a grid that the
# tiny LNet finds exactly; the memory figures are there (session heap > 0).
faceattr_cli_test(bench_size_paste ARGS bench -m ${F}/anet-tiny-int8.fam --lnet ${L}/lnet-tiny.fam
                  --image ${L}/scenes/objects/obj0.jpg --size 320x240 --paste ${L}/scenes/img/000001.jpg
                  ${L}/scenes/img/000002.jpg ${L}/scenes/img/000003.jpg --grid 4x2 --backend reference --runs 2 --warmup 1 --json
                  OUTPUT_REGEX "\"width\":320,\"height\":240,\"faces_pasted\":3,\"model_bytes\":[1-9][0-9]*,.*\"faces\":3,\"memory\":{\"session_heap_bytes\":[1-9][0-9]*,")
faceattr_cli_test(bench_size_text ARGS bench --model ${M} --no-lnet --size 200x100 --runs 2 --warmup 0 --backend reference
                  OUTPUT_REGEX "image synthetic 200x100.*memory reference +session heap [0-9]+ KiB.*model files [0-9]+ KiB")
faceattr_cli_test(error_bench_size ERROR ERROR_REGEX "--size must be WxH" ARGS bench -m ${M} --size 320by240)
faceattr_cli_test(error_bench_grid ERROR ERROR_REGEX "--grid 1x1 has 1 cells for 2 faces"
                  ARGS bench -m ${M} --paste ${F}/white.jpg ${F}/white.jpg --grid 1x1)
faceattr_cli_test(info ARGS info --model ${M}
                  OUTPUT_REGEX "kind +anet.*name +native-test-brightness.*input +16x16x3.*attributes +40.*Young +0.690")
faceattr_cli_test(info_int8 ARGS info --model ${F}/anet-tiny-int8.fam OUTPUT_REGEX "weights:.* int8.*reference \\(ok\\)")
# The machine: CPU, ISA extensions and each kernel family's code (bench_all_json checks the same in JSON).
faceattr_cli_test(info_machine ARGS info --model ${F}/anet-tiny-int8.fam
                  OUTPUT_REGEX "cpu +[^\n]+ [0-9]+ cores / [0-9]+ threads\nisa +[^\n]*lacking: [^\n]+\nkernels +reference: [^\n]+\n.*simd: Highway ([A-Z0-9_]+), (128|256|512)-bit vectors \\(compiled: [A-Z0-9_ ]+\\)\n +simd int8: [^\n]+")
faceattr_cli_test(version ARGS --version OUTPUT_REGEX "^faceattr [0-9]+\\.[0-9]+\\.[0-9]+")
faceattr_cli_test(help ARGS --help OUTPUT_REGEX "predict.*eval.*bench.*info")
foreach(sub predict eval bench info)
  faceattr_cli_test(help_${sub} ARGS ${sub} --help OUTPUT_REGEX "faceattr ${sub}.*--model")
endforeach()

# --- every error: non-zero exit, one "faceattr: error: ..." line ------------
faceattr_cli_test(error_missing_image ERROR ERROR_REGEX "nope.jpg" ARGS predict -m ${M} ${F}/nope.jpg)
faceattr_cli_test(error_corrupt_image ERROR ERROR_REGEX "corrupt.jpg" ARGS predict -m ${M} ${F}/corrupt.jpg)
faceattr_cli_test(error_truncated_jpeg ERROR ERROR_REGEX "truncated.jpg" ARGS predict -m ${M} ${F}/truncated.jpg)
faceattr_cli_test(error_not_an_image ERROR ERROR_REGEX "not_an_image.png" ARGS predict -m ${M} ${F}/not_an_image.png)
faceattr_cli_test(error_empty_image ERROR ERROR_REGEX "empty" ARGS predict -m ${M} ${F}/empty.jpg)
faceattr_cli_test(error_image_is_dir ERROR ERROR_REGEX "directory" ARGS predict -m ${M} ${F})
faceattr_cli_test(error_missing_model ERROR ERROR_REGEX "missing.fam" ARGS predict -m ${F}/missing.fam ${F}/white.jpg)
faceattr_cli_test(error_missing_model_env ERROR ERROR_REGEX "missing.fam" ENV FACEATTR_MODEL=${F}/missing.fam
                  ARGS predict ${F}/white.jpg)
faceattr_cli_test(error_corrupt_model ERROR ERROR_REGEX "corrupt-crc.fam.*MODEL_FORMAT"
                  ARGS predict -m ${F}/corrupt-crc.fam ${F}/white.jpg)
faceattr_cli_test(error_truncated_model ERROR ERROR_REGEX "truncated.fam" ARGS predict -m ${F}/truncated.fam ${F}/white.jpg)
faceattr_cli_test(error_not_a_model ERROR ERROR_REGEX "not_a_model.fam" ARGS predict -m ${F}/not_a_model.fam ${F}/white.jpg)
faceattr_cli_test(error_lnet_slot_wrong_kind ERROR ERROR_REGEX "LNet" ARGS predict -m ${M} --lnet ${M} ${F}/white.jpg)
faceattr_cli_test(error_bad_backend ERROR ERROR_REGEX "--backend" ARGS predict -m ${M} --backend gpu ${F}/white.jpg)
faceattr_cli_test(error_bad_threads ERROR ERROR_REGEX "--threads" ARGS predict -m ${M} --threads 0 ${F}/white.jpg)
faceattr_cli_test(error_no_images ERROR ERROR_REGEX "images" ARGS predict -m ${M})
faceattr_cli_test(error_no_command ERROR ARGS)
faceattr_cli_test(error_unknown_command ERROR ARGS frobnicate)
faceattr_cli_test(error_unknown_option ERROR ERROR_REGEX "--frob" ARGS predict --frob ${F}/white.jpg)
faceattr_cli_test(error_eval_missing_attrs ERROR ERROR_REGEX "nope.txt"
                  ARGS eval -m ${M} --images ${C}/img --attrs ${C}/nope.txt)
faceattr_cli_test(error_eval_bad_attrs ERROR ERROR_REGEX "bad_attr.txt' line 4"
                  ARGS eval -m ${M} --images ${C}/img --attrs ${C}/bad_attr.txt)
faceattr_cli_test(error_eval_count_mismatch ERROR ERROR_REGEX "declares 7 images but lists 5"
                  ARGS eval -m ${M} --images ${C}/img --attrs ${C}/short_attr.txt)
faceattr_cli_test(error_eval_attrs_not_gzip_nor_text ERROR ERROR_REGEX "white.jpg"
                  ARGS eval -m ${M} --images ${C}/img --attrs ${F}/white.jpg)
faceattr_cli_test(error_eval_missing_dir ERROR ERROR_REGEX "nodir"
                  ARGS eval -m ${M} --images ${C}/nodir --attrs ${C}/list_attr.txt)
faceattr_cli_test(error_eval_no_listed_image ERROR ERROR_REGEX "none of the 5 images"
                  ARGS eval -m ${M} --images ${F} --attrs ${C}/list_attr.txt)
faceattr_cli_test(error_eval_corrupt_image_in_set ERROR ERROR_REGEX "000001.jpg"
                  ARGS eval -m ${M} --images ${F}/badset --attrs ${C}/list_attr.txt)
faceattr_cli_test(error_bench_missing_image ERROR ERROR_REGEX "nope.png" ARGS bench -m ${M} --image ${F}/nope.png)
faceattr_cli_test(error_info_corrupt_model ERROR ERROR_REGEX "corrupt-crc.fam" ARGS info -m ${F}/corrupt-crc.fam)
faceattr_cli_test(error_report_unwritable ERROR ERROR_REGEX "report"
                  ARGS eval -m ${M} --images ${C}/img --attrs ${C}/list_attr.txt --html ${F}/no/such/dir/r.html)

# Default model search: <exe>/../../models (build tree) and <exe>/../share/faceattr/models
# (installed), tried with a copy of the executable in a scratch layout.
add_test(NAME cli_default_model_search
         COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:faceattr_cli> -DMODEL=${M} -DIMAGE=${F}/white.jpg
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/native_default_model
                 -DINSTALLED_MODEL_DIR=${FACEATTR_INSTALL_MODELDIR} -DBINDIR=${CMAKE_INSTALL_BINDIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/native/default_model_test.cmake)
set_tests_properties(cli_default_model_search PROPERTIES FIXTURES_REQUIRED native_fixtures ENVIRONMENT "FACEATTR_MODEL=")

# --- the library and the installed package -----------------------------------
add_test(NAME native_exported_symbols
         COMMAND ${CMAKE_COMMAND} -DLIB=$<TARGET_FILE:faceattr_shared> -DNM=${CMAKE_NM} -DOBJDUMP=${CMAKE_OBJDUMP}
                 -DHEADER=${PROJECT_SOURCE_DIR}/sdk/include/faceattr/faceattr.h
                 -DSONAME=$<TARGET_SONAME_FILE_NAME:faceattr_shared>
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/native/check_exports.cmake)

set(FACEATTR_NT_PREFIX ${CMAKE_CURRENT_BINARY_DIR}/native_prefix)
set(FACEATTR_NT_SAN "")
if(FACEATTR_SANITIZE)
  set(FACEATTR_NT_SAN "-fsanitize=address,undefined")
endif()
set(FACEATTR_NT_PKG_DEFS
  -DPREFIX=${FACEATTR_NT_PREFIX} -DLIBDIR=${CMAKE_INSTALL_LIBDIR} -DBINDIR=${CMAKE_INSTALL_BINDIR}
  -DMODELDIR=${FACEATTR_INSTALL_MODELDIR} -DMODEL=${M} -DIMAGE=${F}/white.jpg
  -DSRC=${CMAKE_CURRENT_SOURCE_DIR}/native/consumer -DWORK=${CMAKE_CURRENT_BINARY_DIR}/native_consumers
  -DGENERATOR=${CMAKE_GENERATOR} -DC_COMPILER=${CMAKE_C_COMPILER} -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
  "-DSAN_FLAGS=${FACEATTR_NT_SAN}" -DREADELF=${CMAKE_READELF})
set(FACEATTR_NT_PKG ${CMAKE_CURRENT_SOURCE_DIR}/native/package_test.cmake)
add_test(NAME native_package_install
         COMMAND ${CMAKE_COMMAND} ${FACEATTR_NT_PKG_DEFS} -DMODE=install -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -P ${FACEATTR_NT_PKG})
set_tests_properties(native_package_install PROPERTIES
  FIXTURES_SETUP native_prefix FIXTURES_REQUIRED native_fixtures ENVIRONMENT "FACEATTR_MODEL=" TIMEOUT 300)
find_program(FACEATTR_PKG_CONFIG pkg-config)
foreach(mode consumer_shared consumer_static pkgconfig_shared pkgconfig_static)
  add_test(NAME native_package_${mode}
           COMMAND ${CMAKE_COMMAND} ${FACEATTR_NT_PKG_DEFS} -DMODE=${mode} "-DPKG_CONFIG=${FACEATTR_PKG_CONFIG}"
                   -P ${FACEATTR_NT_PKG})
  set_tests_properties(native_package_${mode} PROPERTIES
    FIXTURES_REQUIRED "native_prefix;native_fixtures" TIMEOUT 300)
endforeach()

# Box matching and the canonical face box of the eval modes (native/cli/eval_match.h, face_box.h);
# the statistics of the eval reports: bootstrap intervals, calibration, the UTKFace split and
# groups, the CelebA slices (eval_bootstrap.h, eval_calibration.h, utkface_groups.h, celeba_slices.h).
set(FACEATTR_CLI_SRC ${PROJECT_SOURCE_DIR}/native/cli)
add_executable(faceattr_cli_unit_tests native/eval_match_test.cpp native/eval_stats_test.cpp unit/catch_main.cpp
               ${FACEATTR_CLI_SRC}/eval_match.cpp ${FACEATTR_CLI_SRC}/face_box.cpp ${FACEATTR_CLI_SRC}/eval_metrics.cpp
               ${FACEATTR_CLI_SRC}/eval_bootstrap.cpp ${FACEATTR_CLI_SRC}/eval_calibration.cpp
               ${FACEATTR_CLI_SRC}/utkface_groups.cpp ${FACEATTR_CLI_SRC}/celeba_slices.cpp)
target_include_directories(faceattr_cli_unit_tests PRIVATE ${FACEATTR_CLI_SRC})
target_link_libraries(faceattr_cli_unit_tests PRIVATE Catch2::Catch2 nlohmann_json::nlohmann_json)
catch_discover_tests(faceattr_cli_unit_tests TEST_PREFIX "cli_unit_" PROPERTIES TIMEOUT 60)
