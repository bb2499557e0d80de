// The exception guard of entry points that allocate: std::bad_alloc becomes
// FACEATTR_ERR_OUT_OF_MEMORY, anything else FACEATTR_ERR_INTERNAL; nothing crosses
// the C API. std::bad_alloc only exists as an exception when exceptions are
// enabled (not in the wasm build), where the guard is empty.
#pragma once

#include <new>

#include "util/last_error.h"
#include "util/status.h"

#if defined(__cpp_exceptions)
#define FACEATTR_GUARD_BEGIN try {
#define FACEATTR_GUARD_END                                                                      \
  }                                                                                             \
  catch (const std::bad_alloc&) {                                                               \
    return ::faceattr::report(::faceattr::Status(FACEATTR_ERR_OUT_OF_MEMORY, "out of memory")); \
  }                                                                                             \
  catch (...) {                                                                                 \
    return ::faceattr::report(                                                                  \
        ::faceattr::Status(FACEATTR_ERR_INTERNAL, "internal error (unexpected exception)"));    \
  }
#else
#define FACEATTR_GUARD_BEGIN {
#define FACEATTR_GUARD_END }
#endif
