#include "model_path.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "cli_common.h"

#ifndef FACEATTR_CLI_INSTALLED_MODEL_DIR
#define FACEATTR_CLI_INSTALLED_MODEL_DIR "../share/faceattr/models"
#endif

namespace faceattr::cli {

namespace fs = std::filesystem;

std::string executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return exe.parent_path().string();
}

std::string resolve_model_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("FACEATTR_MODEL"); env && *env) return env;
  const std::string dir = executable_dir();
  std::vector<fs::path> candidates;
  if (!dir.empty()) {
    candidates.push_back(fs::path(dir) / ".." / ".." / "models" / kDefaultModelFile);
    candidates.push_back(fs::path(dir) / FACEATTR_CLI_INSTALLED_MODEL_DIR / kDefaultModelFile);
  }
  std::string looked;
  for (const fs::path& p : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.lexically_normal().string();
    looked += (looked.empty() ? "" : ", ") + p.lexically_normal().string();
  }
  throw Error("no model given and no default model found (looked in " + looked +
              "); pass --model FILE or set FACEATTR_MODEL");
}

std::string default_lnet_path(const std::string& anet_path) {
  std::error_code ec;
  const fs::path p = fs::path(anet_path).parent_path() / kDefaultLnetFile;
  return fs::is_regular_file(p, ec) ? p.lexically_normal().string() : "";
}

}  // namespace faceattr::cli
