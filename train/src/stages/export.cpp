#include <stdexcept>

#include "stages/stages.h"

namespace faceattr::train {
void run_export(const Options&) { throw std::runtime_error("export: not implemented yet"); }
}  // namespace faceattr::train
