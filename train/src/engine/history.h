// Per-epoch metrics: CSV, JSON and an HTML learning-curve page (inline SVG).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/atomic_file.h"

namespace faceattr::train {

struct EpochRecord {
  int epoch = 0;
  std::map<std::string, double> values;  // train_loss, val_loss, val_acc, lr, seconds, img_per_s, ...
};

class History {
 public:
  std::vector<EpochRecord> records;
  nlohmann::json to_json() const;
  static History from_json(const nlohmann::json& j);
  // Writes <prefix>.csv, <prefix>.json and <prefix>.html, each atomically
  // (util/atomic_file.h); `point` names the write for the kill hook.
  void write(const std::string& prefix, const std::string& title, const std::string& point = "") const;
};

// Writes text to path atomically: temp file, fsync, rename (util/atomic_file.h).
inline void write_text_atomic(const std::string& path, const std::string& text,
                              const std::string& point = "") {
  write_file_atomic(path, text, point);
}

}  // namespace faceattr::train
