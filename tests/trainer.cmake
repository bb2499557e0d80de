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
