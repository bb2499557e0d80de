# Trainer script tests, only when the trainer is built (label train):
#   trainer_smoke        a tiny generated CelebA/LFW-layout dataset in a temp folder,
#                        a few training steps of every stage, export, and the exported
#                        .fam files loaded back in the SDK (export itself compares SDK
#                        and LibTorch outputs and fails on a mismatch)
#   trainer_kill_resume  crash-safe training (train/README.md, "Interruption and
#                        --resume"): five toy runs SIGKILLed mid-epoch, mid-checkpoint
#                        write and mid-export, resumed to the end; the final weights
#                        and exported files must equal an uninterrupted run's bit for bit
if(TARGET faceattr_train)
  foreach(script_test smoke:smoke_test:300 kill_resume:kill_resume_test:600)
    string(REPLACE ":" ";" parts ${script_test})
    list(GET parts 0 name)
    list(GET parts 1 script)
    list(GET parts 2 timeout)
    add_test(NAME trainer_${name}
      COMMAND ${CMAKE_COMMAND} -DTRAIN_BIN=$<TARGET_FILE:faceattr_train>
              -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/trainer_${name}
              -P ${PROJECT_SOURCE_DIR}/train/${script}.cmake)
    set_tests_properties(trainer_${name} PROPERTIES TIMEOUT ${timeout} LABELS "train")
  endforeach()
endif()
