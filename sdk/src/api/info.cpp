// Session-independent entry points: status/backend names, version, last error.
#include "api/guard.h"
#include "faceattr/faceattr.h"
#include "kernels/kernels.h"
#include "util/enum_value.h"
#include "util/last_error.h"

extern "C" {

const char* faceattr_last_error(void) { return faceattr::last_error(); }

const char* faceattr_status_string(faceattr_status status) {
  switch (faceattr::enum_value(status)) {
    case FACEATTR_OK:
      return "FACEATTR_OK";
    case FACEATTR_ERR_INVALID_ARGUMENT:
      return "FACEATTR_ERR_INVALID_ARGUMENT";
    case FACEATTR_ERR_MODEL_FORMAT:
      return "FACEATTR_ERR_MODEL_FORMAT";
    case FACEATTR_ERR_MODEL_VERSION:
      return "FACEATTR_ERR_MODEL_VERSION";
    case FACEATTR_ERR_UNSUPPORTED:
      return "FACEATTR_ERR_UNSUPPORTED";
    case FACEATTR_ERR_OUT_OF_MEMORY:
      return "FACEATTR_ERR_OUT_OF_MEMORY";
    case FACEATTR_ERR_CANCELLED:
      return "FACEATTR_ERR_CANCELLED";
    case FACEATTR_ERR_INTERNAL:
      return "FACEATTR_ERR_INTERNAL";
    case FACEATTR_ERR_BUSY:
      return "FACEATTR_ERR_BUSY";
  }
  return "FACEATTR_ERR_UNKNOWN";
}

const char* faceattr_backend_name(faceattr_backend backend) {
  switch (faceattr::enum_value(backend)) {
    case FACEATTR_BACKEND_AUTO:
      return "auto";
    case FACEATTR_BACKEND_REFERENCE:
      return "reference";
    case FACEATTR_BACKEND_XNNPACK:
      return "xnnpack";
    case FACEATTR_BACKEND_SIMD:
      return "simd";
  }
  return "unknown";
}

int faceattr_backend_available(faceattr_backend backend) {
  switch (faceattr::enum_value(backend)) {
    case FACEATTR_BACKEND_AUTO:
    case FACEATTR_BACKEND_REFERENCE:
      return 1;
    case FACEATTR_BACKEND_XNNPACK:
      return faceattr::kernels::family_available(faceattr::kernels::Family::Xnnpack);
    case FACEATTR_BACKEND_SIMD:
      return faceattr::kernels::family_available(faceattr::kernels::Family::Simd);
  }
  return 0;
}

faceattr_status faceattr_get_simd_info(faceattr_simd_info* out) {
  faceattr::clear_last_error();
  if (out == nullptr)
    return faceattr::report(
        faceattr::Status(FACEATTR_ERR_INVALID_ARGUMENT, "faceattr_get_simd_info: out is NULL"));
  FACEATTR_GUARD_BEGIN
  const faceattr::kernels::SimdTargetInfo info = faceattr::kernels::simd::target_info();
  out->target = info.target;
  out->compiled = info.compiled;
  out->int8_path = info.int8_path;
  out->vector_bits = info.vector_bits;
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

const char* faceattr_version(void) { return FACEATTR_VERSION_STRING; }

}  // extern "C"
