// The Catch2 (v2) main of faceattr_unit_tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
