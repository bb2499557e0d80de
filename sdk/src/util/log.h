// Routes SDK log lines to the caller's faceattr_log_callback (params struct).
#pragma once

#include "faceattr/faceattr.h"

namespace faceattr {

struct Logger {
  faceattr_log_callback callback = nullptr;
  void* user_data = nullptr;
  faceattr_log_level min_level = FACEATTR_LOG_WARN;

  bool enabled(faceattr_log_level level) const { return callback != nullptr && level >= min_level; }
  // printf-style; formats into a fixed stack buffer (long lines are truncated).
  void log(faceattr_log_level level, const char* fmt, ...) const
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
};

}  // namespace faceattr
