// Internal status: the public code plus a message. No exceptions in the SDK.
#pragma once

#include <string>
#include <utility>

#include "faceattr/faceattr.h"

namespace faceattr {

class Status {
 public:
  Status() = default;
  Status(faceattr_status code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == FACEATTR_OK; }
  explicit operator bool() const { return is_ok(); }
  faceattr_status code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  faceattr_status code_ = FACEATTR_OK;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return Status(FACEATTR_ERR_INVALID_ARGUMENT, std::move(m)); }
inline Status model_format_error(std::string m) { return Status(FACEATTR_ERR_MODEL_FORMAT, std::move(m)); }

#define FACEATTR_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::faceattr::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;      \
  } while (0)

}  // namespace faceattr
