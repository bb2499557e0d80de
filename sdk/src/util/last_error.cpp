#include "util/last_error.h"

namespace faceattr {
namespace {
thread_local std::string g_last_error;
}

void set_last_error(const std::string& message) { g_last_error = message; }
void clear_last_error() { g_last_error.clear(); }
const char* last_error() { return g_last_error.c_str(); }

faceattr_status report(const Status& st) {
  if (!st.is_ok()) set_last_error(st.message().empty() ? faceattr_status_string(st.code()) : st.message());
  return st.code();
}

}  // namespace faceattr
