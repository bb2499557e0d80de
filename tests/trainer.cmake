# Trainer smoke test: a tiny generated CelebA/LFW-layout dataset in a temp
# folder, a few training steps of every stage, export, and the exported
# .fam files loaded back in the SDK (export itself compares SDK and LibTorch
# outputs and fails on a mismatch). Only when the trainer is built.
if(TARGET faceattr_train)
  add_test(NAME trainer_smoke
    COMMAND ${CMAKE_COMMAND} -DTRAIN_BIN=$<TARGET_FILE:faceattr_train>
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/trainer_smoke
            -P ${PROJECT_SOURCE_DIR}/train/smoke_test.cmake)
  set_tests_properties(trainer_smoke PROPERTIES TIMEOUT 300 LABELS "train")
endif()

# Crash-safe training (train/README.md, "Interruption and --resume"): five toy runs
# SIGKILLed mid-epoch, mid-checkpoint write and mid-export, resumed to the end; the
# final weights and exported files must equal an uninterrupted run's bit for bit.
if(TARGET faceattr_train)
  add_test(NAME trainer_kill_resume
    COMMAND ${CMAKE_COMMAND} -DTRAIN_BIN=$<TARGET_FILE:faceattr_train>
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/trainer_kill_resume
            -P ${PROJECT_SOURCE_DIR}/train/kill_resume_test.cmake)
  set_tests_properties(trainer_kill_resume PROPERTIES TIMEOUT 600 LABELS "train")
endif()
