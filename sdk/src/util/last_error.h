// Per-thread last error message behind faceattr_last_error().
#pragma once

#include <string>

#include "util/status.h"

namespace faceattr {

void set_last_error(const std::string& message);
void clear_last_error();
const char* last_error();

// Records `st` (when it is an error) and returns its code: the tail of every public API call.
faceattr_status report(const Status& st);

}  // namespace faceattr
