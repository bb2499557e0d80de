#include <stdexcept>

#include "stages/stages.h"

namespace faceattr::train {
void run_linear(const Options&) { throw std::runtime_error("linear: not implemented yet"); }
}  // namespace faceattr::train
