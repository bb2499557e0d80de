// Reads a public enum field as its integer value without an enum-typed load:
// C callers may store any int there, and loading an out-of-range value through
// the C++ enum type is undefined behaviour (UBSan flags it).
#pragma once

#include <cstring>

namespace faceattr {

template <class E>
int enum_value(const E& e) {
  static_assert(sizeof(E) == sizeof(int), "public enums are int-sized");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

}  // namespace faceattr
