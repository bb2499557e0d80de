// The SIMD family is available whenever it is compiled in: Highway picks the
// best target for the CPU (or the static WASM target) and every target works.
#include "kernels/kernel_util.h"

namespace faceattr::kernels::simd {

bool runtime_available() { return true; }

}  // namespace faceattr::kernels::simd
