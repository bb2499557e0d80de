# Video: the synthetic clip library (tests/video/clips.h: real face crops moving in
# known ways, for the tracker's tests and these), its `faceattr_make_clip` tool, and
# the tests of `faceattr video` and `faceattr predict --track` on such clips.
find_path(FACEATTR_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)  # libstb-dev

# No dependency on the SDK or the CLI: any test can link it.
add_library(faceattr_clips STATIC video/clips.cpp video/clips_stb.cpp)
target_include_directories(faceattr_clips PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/video
                           PRIVATE ${FACEATTR_STB_INCLUDE_DIR})
target_compile_definitions(faceattr_clips PRIVATE FACEATTR_CLIPS_DATA_DIR="${FACEATTR_DATA_DIR}")
if(NOT TARGET faceattr_cli_video)
  return()
endif()
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)

add_executable(faceattr_make_clip video/make_clip.cpp)
target_include_directories(faceattr_make_clip PRIVATE ${FACEATTR_STB_INCLUDE_DIR})
target_link_libraries(faceattr_make_clip PRIVATE faceattr_clips faceattr_cli_video CLI11::CLI11
                      nlohmann_json::nlohmann_json)

add_executable(faceattr_video_check video/check_video.cpp)
target_link_libraries(faceattr_video_check PRIVATE faceattr_cli_video nlohmann_json::nlohmann_json)

set(V ${CMAKE_CURRENT_BINARY_DIR}/video_out)
file(MAKE_DIRECTORY ${V})
set(FACEATTR_VT_MODEL ${PROJECT_SOURCE_DIR}/models/anet-int8.fam)  # the LNet beside it is discovered

# faceattr_video_cli_test(<name> ... ARGS <faceattr arguments...>): tests/native.cmake's
# faceattr_cli_test with faceattr_video_check as the checker, outputs in video_out.
function(faceattr_video_cli_test name)
  faceattr_cli_test(${name} CHECKER faceattr_video_check OUT_DIR ${V} TIMEOUT 300 LABELS native ${ARGN})
endfunction()

# --- inputs that are not videos (no data needed) ---------------------------------
file(WRITE ${V}/text.mp4 "This is a text file with a video's name.\nIt has no video stream.\n")
faceattr_video_cli_test(video_error_missing ERROR ERROR_REGEX "video '[^']*nope.mp4' does not exist"
                        ARGS video -m ${FACEATTR_VT_MODEL} ${V}/nope.mp4)
faceattr_video_cli_test(video_error_text_file ERROR ERROR_REGEX "cannot open video '[^']*text.mp4': Invalid data"
                        ARGS video -m ${FACEATTR_VT_MODEL} ${V}/text.mp4)
faceattr_video_cli_test(video_error_directory ERROR ERROR_REGEX "is a directory" ARGS video -m ${FACEATTR_VT_MODEL} ${V})
faceattr_video_cli_test(help_video ARGS video --help OUTPUT_REGEX "faceattr video.*--model.*--json.*--out")

if(NOT EXISTS ${FACEATTR_DATA_DIR}/celeba/test_crops OR NOT EXISTS ${FACEATTR_DATA_DIR}/objects)
  message(STATUS "faceattr: no ${FACEATTR_DATA_DIR}/celeba/test_crops or objects; the video clip tests are skipped")
  return()
endif()

# The generator itself: each kind's motion and truth, determinism.
add_executable(faceattr_clips_tests video/clips_test.cpp unit/catch_main.cpp)
target_link_libraries(faceattr_clips_tests PRIVATE faceattr_clips Catch2::Catch2)
catch_discover_tests(faceattr_clips_tests TEST_PREFIX "video_clips_" PROPERTIES TIMEOUT 120 LABELS "native")

# The tracker's targets on every clip kind (docs/video.md): decision flips against
# per-frame predict, lag after a swap, id switches; the shipped int8 models. A
# quality measure, in optimised builds only: the sanitizer presets run the tracker on
# these models through the CLI tests below and the unit suite.
if(NOT FACEATTR_SANITIZE)
  add_executable(faceattr_tracking_targets video/tracking_targets.cpp unit/catch_main.cpp)
  target_link_libraries(faceattr_tracking_targets PRIVATE faceattr_clips faceattr_shared Catch2::Catch2)
  target_compile_definitions(faceattr_tracking_targets PRIVATE FACEATTR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME video_tracking_targets COMMAND faceattr_tracking_targets)
  set_tests_properties(video_tracking_targets PROPERTIES TIMEOUT 600 LABELS "native")
endif()

# --- clips (fixture video_clips) ----------------------------------------------------
set(FACEATTR_VT_CLIPS still pan)
foreach(kind ${FACEATTR_VT_CLIPS})
  add_test(NAME video_make_${kind}
           COMMAND faceattr_make_clip ${kind} ${V}/${kind}.mp4 --frames 60 --seed 3 --truth ${V}/${kind}.truth.jsonl)
  set_tests_properties(video_make_${kind} PROPERTIES FIXTURES_SETUP video_clips LABELS "native")
endforeach()
# Stored sideways with a display rotation, as phones store portrait videos.
add_test(NAME video_make_rotated
         COMMAND faceattr_make_clip pan ${V}/rotated.mp4 --frames 30 --seed 5 --rotate 90 --truth ${V}/rotated.truth.jsonl)
set_tests_properties(video_make_rotated PROPERTIES FIXTURES_SETUP video_clips LABELS "native")
# Two persons crossing; one face replaced by another in place. At 25 fps: times from the stream.
add_test(NAME video_make_cross
         COMMAND faceattr_make_clip cross ${V}/cross.mp4 --frames 60 --seed 3 --fps 25 --truth ${V}/cross.truth.jsonl)
add_test(NAME video_make_swap COMMAND faceattr_make_clip swap ${V}/swap.mp4 --frames 40 --seed 3 --truth ${V}/swap.truth.jsonl)
set_tests_properties(video_make_cross video_make_swap PROPERTIES FIXTURES_SETUP video_clips LABELS "native")
add_test(NAME video_make_png_frames
         COMMAND faceattr_make_clip still ${V}/still5.mp4 --frames 5 --seed 4 --png-dir ${V}/still_png)
add_test(NAME video_make_truncated COMMAND faceattr_video_check truncate ${V}/still.mp4 ${V}/truncated.mp4 0.6)
set_tests_properties(video_make_png_frames video_make_truncated PROPERTIES FIXTURES_SETUP video_clips LABELS "native")
set_tests_properties(video_make_truncated PROPERTIES DEPENDS video_make_still)

# The writer's file decodes back: every frame, its size, times 1/30 s apart.
add_test(NAME video_clip_decodes COMMAND faceattr_video_check frames ${V}/still.mp4 60 320 240)
# The rotated clip comes out upright (240x320 stored, 320x240 read).
add_test(NAME video_clip_rotated_decodes COMMAND faceattr_video_check frames ${V}/rotated.mp4 30 320 240)
set_tests_properties(video_clip_decodes video_clip_rotated_decodes PROPERTIES FIXTURES_REQUIRED video_clips
                     LABELS "native")

# --- faceattr video ----------------------------------------------------------------
# One JSON line per frame; the face found where it was pasted; on a still face, one track.
faceattr_video_cli_test(video_still_json FIXTURES video_clips
                        CHECK "jsonl|{out}|${V}/still.truth.jsonl|one-track"
                        ARGS video -m ${FACEATTR_VT_MODEL} --json ${V}/still.mp4)
faceattr_video_cli_test(video_pan_json FIXTURES video_clips CHECK "jsonl|{out}|${V}/pan.truth.jsonl"
                        ARGS video -m ${FACEATTR_VT_MODEL} --json --threads 2 ${V}/pan.mp4)
# Two faces, two tracks through (time_ms 40 ms apart, checked against the truth); a face
# swapped in place starts a second track.
faceattr_video_cli_test(video_cross_json FIXTURES video_clips CHECK "jsonl|{out}|${V}/cross.truth.jsonl|tracks=2"
                        ARGS video -m ${FACEATTR_VT_MODEL} --json ${V}/cross.mp4)
faceattr_video_cli_test(video_swap_json FIXTURES video_clips CHECK "jsonl|{out}|${V}/swap.truth.jsonl|tracks=2"
                        ARGS video -m ${FACEATTR_VT_MODEL} --json ${V}/swap.mp4)
# The tracker's counts: local searches between full passes by default, none with --detect-interval 1.
faceattr_video_cli_test(video_detect_interval FIXTURES video_clips
                        OUTPUT_REGEX "localiser: 60 full passes, 0 frames by local search \\(full pass at least every 1 frames\\)"
                        ARGS video -m ${FACEATTR_VT_MODEL} --detect-interval 1 ${V}/still.mp4)
faceattr_video_cli_test(video_max_frames FIXTURES video_clips
                        OUTPUT_REGEX "still.mp4: 12 frames,.*track 1: frames 0-11 \\(seen on 12\\)"
                        ARGS video -m ${FACEATTR_VT_MODEL} --max-frames 12 ${V}/still.mp4)
# Faces are found where they were pasted only if the frames were turned upright.
faceattr_video_cli_test(video_rotated_json FIXTURES video_clips CHECK "jsonl|{out}|${V}/rotated.truth.jsonl"
                        ARGS video -m ${FACEATTR_VT_MODEL} --json ${V}/rotated.mp4)
faceattr_video_cli_test(video_summary_out FIXTURES video_clips
                        OUTPUT_REGEX "still.mp4: 60 frames, 320x240, 30.00 fps \\((h264|mpeg4)\\)\ntracks: 1\n  track 1: frames 0-59 \\(seen on 60\\).*localiser: [1-9][0-9]* full passes, [1-9][0-9]* frames by local search.*wrote [^\n]*still_boxes.mp4 \\((libx264|mpeg4), 60 frames\\)"
                        ARGS video -m ${FACEATTR_VT_MODEL} ${V}/still.mp4 --out ${V}/still_boxes.mp4)
add_test(NAME cli_video_out_decodes COMMAND faceattr_video_check frames ${V}/still_boxes.mp4 60 320 240)
set_tests_properties(cli_video_out_decodes PROPERTIES DEPENDS cli_video_summary_out FIXTURES_REQUIRED video_clips
                     LABELS "native")
faceattr_video_cli_test(video_error_truncated ERROR FIXTURES video_clips ERROR_REGEX "truncated.mp4"
                        ARGS video -m ${FACEATTR_VT_MODEL} ${V}/truncated.mp4)
# --thresholds: the native fixtures' anet-brightness.fam has no balanced thresholds,
# anet-balanced.fam has (tests/native.cmake checks the decisions themselves).
faceattr_video_cli_test(video_error_no_balanced_thresholds ERROR FIXTURES video_clips native_fixtures
                        ERROR_REGEX "--thresholds balanced: model '[^']*anet-brightness.fam' has no balanced thresholds"
                        ARGS video -m ${FACEATTR_NT_FIX}/anet-brightness.fam --no-localize --thresholds balanced
                        ${V}/still.mp4)
faceattr_video_cli_test(video_thresholds_balanced FIXTURES video_clips native_fixtures
                        OUTPUT_REGEX "still.mp4: 5 frames,.*track 1: frames 0-4 \\(seen on 5\\)"
                        ARGS video -m ${FACEATTR_NT_FIX}/anet-balanced.fam --no-localize --thresholds balanced
                        --max-frames 5 ${V}/still.mp4)

# --- faceattr predict --track ----------------------------------------------------------
set(FACEATTR_VT_PNGS)
foreach(i 0 1 2 3 4)
  list(APPEND FACEATTR_VT_PNGS ${V}/still_png/frame_000${i}.png)
endforeach()
faceattr_video_cli_test(predict_track_json FIXTURES video_clips CHECK "predict-track|{out}|5"
                        ARGS predict -m ${FACEATTR_VT_MODEL} --track --json ${FACEATTR_VT_PNGS})
faceattr_video_cli_test(predict_track_table FIXTURES video_clips
                        OUTPUT_REGEX "frame_0000.png \\(320x240\\): 1 face\ntrack 1: box x=[0-9]+ y=[0-9]+ w=[0-9]+ h=[0-9]+, score [01]\\.[0-9]+\n.*frame_0004.png \\(320x240\\): 1 face\ntrack 1: "
                        ARGS predict -m ${FACEATTR_VT_MODEL} --track ${FACEATTR_VT_PNGS})
