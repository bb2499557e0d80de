# Crash-safe training test, driven by tests/trainer.cmake:
#   cmake -DTRAIN_BIN=<faceattr_train> -DWORK_DIR=<scratch dir> [-DSEED=<n>] -P train/kill_resume_test.cmake
#
# On the toy dataset: one uninterrupted run (finetune, export) gives the reference
# weights and model files. Then five fresh runs, each SIGKILLed at a point drawn
# from SEED (mid-epoch by time, at a chosen training step, mid-write of a
# checkpoint file and then of state.json, mid-write of the export), are resumed with
# --resume until they finish. After every kill: state.json parses, no torn file
# is in place (each export file is absent or equal to the reference), and the
# next start removes the partial temp files. At the end the final weights must be
# bitwise equal to the reference (`faceattr_train compare-weights`, tolerance 0)
# and the exported .fam and golden files byte-identical (train/README.md,
# "Interruption and --resume").
cmake_minimum_required(VERSION 3.23)  # string(TIMESTAMP %f)
if(NOT DEFINED SEED)
  set(SEED 1)
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(EPOCHS 4)
unset(ENV{FACEATTR_TRAIN_KILL_AT})

set(COMMON --data-root ${WORK_DIR}/data --device cpu --threads 2 --workers 2 --seed 11 --batch 8
    --input-width 32 --input-height 40 --width-mult 0.5 --finetune-epochs ${EPOCHS} --max-steps 6
    --calib-images 16)
set(EXPORT_FILES anet-fp32.fam anet-int8.fam anet-fp32.fam.golden.json anet-int8.fam.golden.json)

function(now_ms out)
  string(TIMESTAMP t "%s %f")
  string(REPLACE " " ";" t "${t}")
  list(GET t 0 s)
  list(GET t 1 us)
  string(REGEX REPLACE "^0+([0-9])" "\\1" us "${us}")
  math(EXPR ms "${s} * 1000 + ${us} / 1000")
  set(${out} ${ms} PARENT_SCOPE)
endfunction()

# A random integer in [lo, hi] from the test's own sequence (reproducible for SEED).
set(RNG_STATE ${SEED})
function(draw out lo hi)
  math(EXPR st "(${RNG_STATE} * 1103515245 + 12345) % 2147483648")
  set(RNG_STATE ${st} PARENT_SCOPE)
  math(EXPR v "${lo} + (${st} / 65536) % (${hi} - ${lo} + 1)")
  set(${out} ${v} PARENT_SCOPE)
endfunction()

# Runs one trainer stage; `kill_at` (FACEATTR_TRAIN_KILL_AT) and `kill_ms` (SIGKILL
# after that many ms; 0 = none) are the optional kills. Sets <rc_out> to 0 or "killed".
function(run_stage rc_out log_name stage run_dir out_dir kill_at kill_ms)
  # A fixed metadata date, so that two exports of the same weights are byte-identical
  # (only for the trainer: CMake's own TIMESTAMP would follow it too).
  set(env_args SOURCE_DATE_EPOCH=1700000000)
  if(kill_at)
    list(APPEND env_args FACEATTR_TRAIN_KILL_AT=${kill_at})
  endif()
  set(limit 600)
  if(kill_ms GREATER 0)
    math(EXPR s "${kill_ms} / 1000")
    math(EXPR ms "${kill_ms} % 1000")
    string(LENGTH "${ms}" len)
    if(len EQUAL 1)
      set(ms "00${ms}")
    elseif(len EQUAL 2)
      set(ms "0${ms}")
    endif()
    set(limit ${s}.${ms})
  endif()
  set(extra)
  if(ARGN)
    set(extra ${ARGN})
  endif()
  execute_process(
    COMMAND env ${env_args} timeout --foreground --preserve-status -s KILL ${limit} ${TRAIN_BIN} ${stage} ${COMMON}
            --run-dir ${run_dir} --out-dir ${out_dir} ${extra}
    RESULT_VARIABLE rc OUTPUT_FILE ${WORK_DIR}/${log_name}.out ERROR_FILE ${WORK_DIR}/${log_name}.err)
  # 137: timeout's SIGKILL; "Subprocess killed": the hook's SIGKILL (timeout dies of the
  # signal its command died of). --preserve-status: a stage that exits on its own just as
  # the timer fires reports its own status, not timeout's 124.
  if(rc EQUAL 137 OR rc MATCHES "killed")
    set(rc killed)
  elseif(NOT rc EQUAL 0)
    file(READ ${WORK_DIR}/${log_name}.err err)
    message(FATAL_ERROR "${stage} failed (${rc}), log ${WORK_DIR}/${log_name}.err:\n${err}")
  endif()
  set(${rc_out} ${rc} PARENT_SCOPE)
endfunction()

# What a kill may leave: state.json whole (it parses), each export file absent or
# the reference's, partial temp files only under *.tmp names.
function(check_after_kill run_dir out_dir what)
  set(state ${run_dir}/finetune/state.json)
  set(committed 0)
  if(EXISTS ${state})
    file(READ ${state} st)
    string(JSON committed ERROR_VARIABLE jerr GET "${st}" epoch)
    if(jerr)
      message(FATAL_ERROR "${what}: ${state} is not valid JSON after the kill: ${jerr}")
    endif()
  endif()
  foreach(f ${EXPORT_FILES})
    if(EXISTS ${out_dir}/${f})
      execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${out_dir}/${f} ${WORK_DIR}/ref/models/${f}
                      RESULT_VARIABLE diff)
      if(NOT diff EQUAL 0)
        message(FATAL_ERROR "${what}: ${out_dir}/${f} is in place but not a complete export")
      endif()
    endif()
  endforeach()
  file(GLOB_RECURSE temps ${run_dir}/*.tmp ${out_dir}/*.tmp)
  list(LENGTH temps n_temps)
  message(STATUS "  ${what}: killed; committed epoch ${committed}, ${n_temps} partial temp file(s) left")
  set(TEMPS_LEFT ${temps} PARENT_SCOPE)
endfunction()

# One run in ${WORK_DIR}/t<trial>: finetune then export, the first attempt of
# `kill_stage` killed as given, the second finetune attempt at `second_kill_at` or
# after `second_kill_ms` (""/0 = not), every later attempt with --resume until the
# stage finishes. Sets KILLS.
function(run_trial trial kill_stage kill_at kill_ms second_kill_at second_kill_ms)
  set(dir ${WORK_DIR}/t${trial})
  file(REMOVE_RECURSE ${dir})
  set(kills 0)
  foreach(stage finetune export)
    set(attempt 0)
    set(temps_before "")
    while(TRUE)
      set(k_at "")
      set(k_ms 0)
      if(stage STREQUAL kill_stage AND attempt EQUAL 0)
        set(k_at "${kill_at}")
        set(k_ms ${kill_ms})
      elseif(stage STREQUAL "finetune" AND attempt EQUAL 1)
        set(k_at "${second_kill_at}")
        set(k_ms ${second_kill_ms})
      endif()
      set(resume_flag)
      if(attempt GREATER 0 OR stage STREQUAL "export")
        set(resume_flag --resume)
      endif()
      run_stage(rc t${trial}-${stage}-${attempt} ${stage} ${dir}/run ${dir}/models "${k_at}" ${k_ms}
                ${resume_flag})
      if(rc STREQUAL "killed")
        math(EXPR kills "${kills} + 1")
        check_after_kill(${dir}/run ${dir}/models "${stage} attempt ${attempt}")
        set(temps_before "${TEMPS_LEFT}")
        math(EXPR attempt "${attempt} + 1")
        if(attempt GREATER 3)
          message(FATAL_ERROR "run ${trial}: ${stage} killed ${attempt} times")
        endif()
        continue()
      endif()
      if(attempt GREATER 0)
        file(READ ${WORK_DIR}/t${trial}-${stage}-${attempt}.err log)
        if(log MATCHES "resuming after epoch ([0-9]+)")
          message(STATUS "  ${stage} attempt ${attempt}: resumed after epoch ${CMAKE_MATCH_1}, finished")
        else()
          message(STATUS "  ${stage} attempt ${attempt}: finished")
        endif()
      endif()
      # The run that finished started by removing the partial temp files of the kill.
      foreach(t ${temps_before})
        if(EXISTS ${t})
          message(FATAL_ERROR "run ${trial}: ${t} (left by the kill) is still there")
        endif()
      endforeach()
      break()
    endwhile()
  endforeach()
  set(KILLS ${kills} PARENT_SCOPE)
endfunction()

now_ms(t_begin)
execute_process(COMMAND ${TRAIN_BIN} make-toy-data --out ${WORK_DIR}/data --n 80 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make-toy-data failed")
endif()

# The reference: uninterrupted.
now_ms(t0)
run_stage(rc ref-finetune finetune ${WORK_DIR}/ref/run ${WORK_DIR}/ref/models "" 0)
now_ms(t1)
run_stage(rc ref-export export ${WORK_DIR}/ref/run ${WORK_DIR}/ref/models "" 0)
now_ms(t2)
math(EXPR finetune_ms "${t1} - ${t0}")
math(EXPR export_ms "${t2} - ${t1}")
message(STATUS "reference: finetune ${finetune_ms} ms (${EPOCHS} epochs), export ${export_ms} ms")

# Five runs; the kinds are fixed so that each is exercised, their points drawn from SEED.
set(kinds time checkpoint export step time)
set(trial 0)
set(total_kills 0)
foreach(kind ${kinds})
  math(EXPR trial "${trial} + 1")
  set(dir ${WORK_DIR}/t${trial})
  set(kill_at "")
  set(kill_ms 0)
  set(second_kill_at "")
  set(second_kill_ms 0)
  set(kill_stage finetune)
  if(kind STREQUAL "time")
    # Anywhere in the training run (start-up, an epoch, a checkpoint).
    math(EXPR lo "${finetune_ms} / 5")
    math(EXPR hi "${finetune_ms} * 9 / 10")
    draw(kill_ms ${lo} ${hi})
    set(desc "SIGKILL after ${kill_ms} ms of finetune")
  elseif(kind STREQUAL "step")
    # At a given training step (mid-epoch), then the resumed run killed again by time.
    draw(e 1 ${EPOCHS})
    draw(s 1 5)
    set(kill_at step:${e}:${s})
    math(EXPR lo "${finetune_ms} / 5")
    math(EXPR hi "${finetune_ms} / 2")
    draw(second_kill_ms ${lo} ${hi})
    set(desc "${kill_at}, then the first resume after ${second_kill_ms} ms")
  elseif(kind STREQUAL "checkpoint")
    # Mid-write of a checkpoint file, the module (@1) or the optimiser (@2); then the
    # resumed run mid-write of state.json (the commit point) of that epoch or a later one.
    draw(e 1 ${EPOCHS})
    draw(which 1 2)
    set(kill_at checkpoint:${e}@${which})
    draw(e2 ${e} ${EPOCHS})
    set(second_kill_at state:${e2})
    set(desc "mid-write ${kill_at}, then the first resume mid-write ${second_kill_at}")
  else()
    # Mid-write of the export: the 4 model/golden files (written, then renamed) or the report.
    draw(k 1 5)
    set(kill_at export@${k})
    set(kill_stage export)
    set(desc "mid-write ${kill_at}")
  endif()
  message(STATUS "run ${trial}: ${desc}")
  run_trial(${trial} "${kill_stage}" "${kill_at}" ${kill_ms} "${second_kill_at}" ${second_kill_ms})
  # A time-based kill can come after the run finished when the machine is faster now
  # than during the reference run: redo the run with half the delay.
  set(tries 1)
  while(KILLS EQUAL 0 AND kill_ms GREATER 0 AND tries LESS 4)
    math(EXPR kill_ms "${kill_ms} / 2")
    math(EXPR tries "${tries} + 1")
    message(STATUS "  finished before the kill; again with SIGKILL after ${kill_ms} ms")
    run_trial(${trial} "${kill_stage}" "${kill_at}" ${kill_ms} "${second_kill_at}" ${second_kill_ms})
  endwhile()
  set(kills ${KILLS})
  if(kills EQUAL 0)
    message(FATAL_ERROR "run ${trial}: the kill (${desc}) did not happen; the run finished uninterrupted")
  endif()
  math(EXPR total_kills "${total_kills} + ${kills}")

  # The final weights: bitwise equal to the uninterrupted run's.
  execute_process(COMMAND ${TRAIN_BIN} compare-weights ${WORK_DIR}/ref/run/finetune/anet.pt
                          ${dir}/run/finetune/anet.pt
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run ${trial} (${desc}): final weights differ from the uninterrupted run:\n${out}${err}")
  endif()
  string(STRIP "${out}" out)
  message(STATUS "  ${out}")
  foreach(f ${EXPORT_FILES})
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${dir}/models/${f} ${WORK_DIR}/ref/models/${f}
                    RESULT_VARIABLE diff)
    if(NOT diff EQUAL 0)
      message(FATAL_ERROR "run ${trial} (${desc}): ${f} differs from the uninterrupted run's")
    endif()
  endforeach()
  message(STATUS "  exported .fam and golden files byte-identical")
endforeach()
now_ms(t_end)
math(EXPR total_s "(${t_end} - ${t_begin}) / 1000")
message(STATUS "kill/resume test passed: 5 runs, ${total_kills} SIGKILLs, all bitwise equal (${total_s} s)")
