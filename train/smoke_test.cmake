# Trainer smoke test script, driven by tests/trainer.cmake:
#   cmake -DTRAIN_BIN=<faceattr_train> -DWORK_DIR=<scratch dir> -DMODELS_DIR=<models/> -P train/smoke_test.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

set(COMMON --data-root ${WORK_DIR}/data --run-dir ${WORK_DIR}/run --out-dir ${WORK_DIR}/models
    --device cpu --threads 1 --workers 2 --batch 8 --input-width 32 --input-height 40 --width-mult 0.5
    --pretrain-epochs 1 --finetune-epochs 2 --max-steps 3 --calib-images 16)
run_step(${TRAIN_BIN} make-toy-data --out ${WORK_DIR}/data --n 60)
run_step(${TRAIN_BIN} pretrain ${COMMON})
run_step(${TRAIN_BIN} finetune ${COMMON} --init auto)
# --resume on a finished stage reloads the last checkpoint and trains nothing more.
run_step(${TRAIN_BIN} finetune ${COMMON} --init auto --resume)
run_step(${TRAIN_BIN} linear ${COMMON})
run_step(${TRAIN_BIN} export ${COMMON})

foreach(f anet-fp32.fam anet-int8.fam anet-fp32.fam.golden.json anet-int8.fam.golden.json)
  if(NOT EXISTS ${WORK_DIR}/models/${f})
    message(FATAL_ERROR "export did not write ${f}")
  endif()
endforeach()
foreach(f finetune/metrics.csv finetune/metrics.json finetune/metrics.html export/report.json linear/report.json)
  if(NOT EXISTS ${WORK_DIR}/run/${f})
    message(FATAL_ERROR "missing ${f}")
  endif()
endforeach()
file(READ ${WORK_DIR}/run/export/report.json report)
string(JSON n_checks LENGTH "${report}" sdk_checks)
if(n_checks LESS 4)
  message(FATAL_ERROR "expected SDK checks in export/report.json, got ${n_checks}")
endif()

# Average maps of the toy ANet, faces framed by the shipped localiser (the stage
# itself checks that the copy predicts bit-identically).
run_step(${TRAIN_BIN} anet-average-maps ${COMMON} --model ${WORK_DIR}/models/anet-int8.fam
         --lnet ${MODELS_DIR}/lnet-int8.fam --out ${WORK_DIR}/models/anet-int8-average.fam)
file(STRINGS ${WORK_DIR}/models/anet-int8-average.fam meta REGEX "\"faces_without\":.*\"maps_with\":")
if(NOT meta)
  message(FATAL_ERROR "anet-average-maps wrote no explain.average_maps metadata with both averages")
endif()

# Joint fine-tuning on the shipped localiser's crops of the toy CelebA, MTFL and LFW faces,
# taught by a teacher (here the toy model itself): soft distillation, then pseudo-labels.
set(JOINT anet-joint --data-root ${WORK_DIR}/data --out-dir ${WORK_DIR}/models --device cpu --threads 1
    --batch 8 --input-width 32 --input-height 40 --width-mult 0.5 --max-steps 3 --joint-epochs 1
    --from-model ${WORK_DIR}/models/anet-fp32.fam --joint-lnet ${MODELS_DIR}/lnet-int8.fam --joint-lfw auto)
set(TEACHER --joint-teacher ${WORK_DIR}/models/anet-fp32.fam,${WORK_DIR}/models/anet-fp32.fam)
run_step(${TRAIN_BIN} ${JOINT} ${TEACHER} --run-dir ${WORK_DIR}/joint-soft)
run_step(${TRAIN_BIN} ${JOINT} ${TEACHER} --run-dir ${WORK_DIR}/joint-pseudo --joint-pseudo 0.55)
# A teacher of another input size (48x60, the student's aspect) reads the same views at its size.
set(BIG --data-root ${WORK_DIR}/data --run-dir ${WORK_DIR}/big --out-dir ${WORK_DIR}/big-models --device cpu
    --threads 1 --workers 2 --batch 8 --input-width 48 --input-height 60 --width-mult 0.5 --finetune-epochs 1
    --max-steps 3 --calib-images 16)
run_step(${TRAIN_BIN} finetune ${BIG})
run_step(${TRAIN_BIN} export ${BIG} --head finetuned)
execute_process(COMMAND ${TRAIN_BIN} ${JOINT} --joint-teacher ${WORK_DIR}/big-models/anet-fp32.fam
                --run-dir ${WORK_DIR}/joint-big RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 0 OR NOT err MATCHES "\\[anet-joint\\] teacher: CelebA val")
  message(FATAL_ERROR "anet-joint with a 48x60 teacher failed (${rc}):\n${err}")
endif()
foreach(run soft pseudo big)
  if(NOT EXISTS ${WORK_DIR}/joint-${run}/finetune/anet.pt)
    message(FATAL_ERROR "anet-joint (${run}) wrote no finetune/anet.pt")
  endif()
endforeach()
file(READ ${WORK_DIR}/joint-soft/joint/metrics.json jsoft)
if(NOT jsoft MATCHES "\"distill_loss\": [0-9]*\\.[0-9]*[1-9]")
  message(FATAL_ERROR "soft distillation logged no positive distill_loss:\n${jsoft}")
endif()
file(READ ${WORK_DIR}/joint-pseudo/joint/metrics.json jpseudo)
if(NOT jpseudo MATCHES "\"pseudo_labelled\": 0\\.[0-9]*[1-9]" OR jpseudo MATCHES "distill_loss")
  message(FATAL_ERROR "pseudo-labelling logged no pseudo-labels (or a soft loss):\n${jpseudo}")
endif()
# Bad teacher settings are refused with a message, before any work.
foreach(bad "${TEACHER};--joint-pseudo;0.3" "--joint-teacher;${WORK_DIR}/data/celeba/anno/list_attr_celeba.txt"
            "--joint-pseudo;0.9"
            "--joint-teacher;${WORK_DIR}/models/anet-fp32.fam,${WORK_DIR}/big-models/anet-fp32.fam")
  execute_process(COMMAND ${TRAIN_BIN} ${JOINT} --run-dir ${WORK_DIR}/joint-bad ${bad}
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(rc EQUAL 0 OR NOT err MATCHES "joint-pseudo must be|list_attr_celeba|need --joint-teacher|input sizes differ")
    message(FATAL_ERROR "anet-joint ${bad}: expected a clear error, got rc ${rc}:\n${err}")
  endif()
endforeach()

# The accuracy policy at 0.5 on the calibrated probability: every accuracy threshold is 0.5.
run_step(${TRAIN_BIN} export ${COMMON} --accuracy-thresholds half)
file(READ ${WORK_DIR}/run/export/report.json hreport)
string(JSON policy GET "${hreport}" accuracy_thresholds)
string(JSON n_thr LENGTH "${hreport}" int8_thresholds)
math(EXPR last "${n_thr} - 1")
foreach(i RANGE ${last})
  string(JSON t32 GET "${hreport}" fp32_thresholds ${i})
  string(JSON t8 GET "${hreport}" int8_thresholds ${i})
  if(NOT t32 STREQUAL "0.5" OR NOT t8 STREQUAL "0.5")
    message(FATAL_ERROR "--accuracy-thresholds half: threshold ${i} is ${t32} (fp32), ${t8} (int8)")
  endif()
endforeach()
if(NOT policy STREQUAL "half" OR n_thr LESS 40)
  message(FATAL_ERROR "--accuracy-thresholds half: report says ${policy}, ${n_thr} thresholds")
endif()

# LNet: a few steps of each stage at a small input, export, SDK check (lnet-export
# refuses to write files when the SDK's Network disagrees with LibTorch).
set(LNET --data-root ${WORK_DIR}/data --run-dir ${WORK_DIR}/run --out-dir ${WORK_DIR}/models --device cpu
    --threads 1 --lnet-input-width 64 --lnet-input-height 48 --lnet-train-width 64 --lnet-train-height 48
    --lnet-width-mult 0.34 --lnet-batch 4 --lnet-pretrain-epochs 1 --lnet-pretrain-steps 2 --lnet-epochs 2
    --lnet-steps 2 --lnet-val-scenes 20 --lnet-calib-scenes 8 --lnet-max-lfw 8)
run_step(${TRAIN_BIN} lnet-pretrain ${LNET})
# Hide-and-Seek on (train/README.md, "Hide-and-Seek"): the hiding path runs in the smoke test too.
run_step(${TRAIN_BIN} lnet-train ${LNET} --lnet-hide-prob 0.5 --lnet-hide-patch 0 8)
run_step(${TRAIN_BIN} lnet-train ${LNET} --resume)
run_step(${TRAIN_BIN} lnet-export ${LNET})
foreach(f lnet-fp32.fam lnet-int8.fam lnet-fp32.fam.golden.json lnet-int8.fam.golden.json)
  if(NOT EXISTS ${WORK_DIR}/models/${f})
    message(FATAL_ERROR "lnet-export did not write ${f}")
  endif()
endforeach()
file(READ ${WORK_DIR}/run/lnet/export-report.json lreport)
string(JSON n_lchecks LENGTH "${lreport}" sdk_checks)
if(n_lchecks LESS 4)
  message(FATAL_ERROR "expected SDK checks in lnet/export-report.json, got ${n_lchecks}")
endif()
foreach(f lnet/metrics.csv lnet/metrics.json lnet-pretrain/metrics.csv)
  if(NOT EXISTS ${WORK_DIR}/run/${f})
    message(FATAL_ERROR "missing ${f}")
  endif()
endforeach()

message(STATUS "trainer smoke test passed (${n_checks} SDK checks)")
