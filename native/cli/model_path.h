// Where the CLI finds its ANet model when none is named on the command line.
#pragma once

#include <string>

namespace faceattr::cli {

inline constexpr const char* kDefaultModelFile = "anet-int8.fam";
inline constexpr const char* kDefaultLnetFile = "lnet-int8.fam";

// In order: `flag` (--model) if not empty; $FACEATTR_MODEL if set and not empty;
// <exe_dir>/../../models/anet-int8.fam (a build tree: repo/build/bin/faceattr);
// <exe_dir>/<installed model dir>/anet-int8.fam (an installed prefix). An
// explicit path is returned as given (a missing file is reported when read);
// throws Error when no default exists.
std::string resolve_model_path(const std::string& flag);

// <folder of anet_path>/lnet-int8.fam when that file exists, else "".
std::string default_lnet_path(const std::string& anet_path);

// Folder of the running executable ("" when unknown).
std::string executable_dir();

}  // namespace faceattr::cli
