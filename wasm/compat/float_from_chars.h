// Force-included into Emscripten builds only when the toolchain's libc++ lacks
// floating-point std::from_chars (Debian emscripten 3.1.6 ships libc++ 14, which
// has only the integer overloads); see the top-level CMakeLists.txt. Gives the
// SDK's locale-independent parses (e.g. LNet decode parameters) the C++17
// behaviour they rely on: no leading whitespace or '+', no hex prefix, the
// longest matching prefix, result_out_of_range on overflow. musl's strtof is
// locale-independent, so the "C" locale rules apply.
#pragma once
#ifdef __cplusplus
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace faceattr_compat {
template <typename T, typename Parse>
std::from_chars_result parse_float(const char* first, const char* last, T& value, Parse parse) {
  char buf[128];
  size_t n = static_cast<size_t>(last - first);
  if (n >= sizeof buf) n = sizeof buf - 1;
  std::memcpy(buf, first, n);
  buf[n] = '\0';
  const char* p = buf[0] == '-' ? buf + 1 : buf;
  if (n == 0 || std::isspace(static_cast<unsigned char>(buf[0])) || *p == '+' || *p == '-' ||
      (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')))
    return {first, std::errc::invalid_argument};
  char* end = nullptr;
  errno = 0;
  const T v = parse(buf, &end);
  if (end == buf) return {first, std::errc::invalid_argument};
  if (errno == ERANGE) return {first + (end - buf), std::errc::result_out_of_range};
  value = v;
  return {first + (end - buf), std::errc()};
}
}  // namespace faceattr_compat

namespace std {
inline from_chars_result from_chars(const char* first, const char* last, float& value,
                                    chars_format = chars_format::general) {
  return faceattr_compat::parse_float(first, last, value,
                                      [](const char* s, char** e) { return std::strtof(s, e); });
}
inline from_chars_result from_chars(const char* first, const char* last, double& value,
                                    chars_format = chars_format::general) {
  return faceattr_compat::parse_float(first, last, value,
                                      [](const char* s, char** e) { return std::strtod(s, e); });
}
}  // namespace std
#endif
