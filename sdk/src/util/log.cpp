#include "util/log.h"

#include <cstdarg>
#include <cstdio>

namespace faceattr {

void Logger::log(faceattr_log_level level, const char* fmt, ...) const {
  if (!enabled(level)) return;
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  callback(level, buf, user_data);
}

}  // namespace faceattr
