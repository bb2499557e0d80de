# Trainer script tests, only when the trainer is built (label train):
#   trainer_smoke        a tiny generated CelebA/LFW-layout dataset in a temp folder,
#                        a few training steps of every stage, export, and the exported
#                        .fam files loaded back in the SDK (export itself compares SDK
#                        and LibTorch outputs and fails on a mismatch)
#   trainer_kill_resume  crash-safe training (train/README.md, "Interruption and
#                        --resume"): five toy runs SIGKILLed mid-epoch, mid-checkpoint
#                        write and mid-export, resumed to the end; the final weights
#                        and exported files must equal an uninterrupted run's bit for bit
#   trainer_distributed  data-parallel training (train/README.md, "Distributed
#                        training"): 2 ranks over Gloo on loopback match 1 rank within
#                        1e-3; a killed or stopped rank makes the other exit within the
#                        timeout; resume after a kill is bitwise equal to an
#                        uninterrupted 2-rank run
if(TARGET faceattr_train)
  foreach(script_test smoke:smoke_test:300 kill_resume:kill_resume_test:600)
    string(REPLACE ":" ";" parts ${script_test})
    list(GET parts 0 name)
    list(GET parts 1 script)
    list(GET parts 2 timeout)
    add_test(NAME trainer_${name}
      COMMAND ${CMAKE_COMMAND} -DTRAIN_BIN=$<TARGET_FILE:faceattr_train>
              -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/trainer_${name} -DMODELS_DIR=${PROJECT_SOURCE_DIR}/models
              -P ${PROJECT_SOURCE_DIR}/train/${script}.cmake)
    set_tests_properties(trainer_${name} PROPERTIES TIMEOUT ${timeout} LABELS "train")
  endforeach()
  add_test(NAME trainer_distributed
    COMMAND bash ${PROJECT_SOURCE_DIR}/train/distributed_test.sh $<TARGET_FILE:faceattr_train>
            ${CMAKE_CURRENT_BINARY_DIR}/trainer_distributed)
  set_tests_properties(trainer_distributed PROPERTIES TIMEOUT 300 LABELS "train")
endif()
