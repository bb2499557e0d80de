// `faceattr eval --html`: one self-contained HTML page (inline CSS and SVG, no
// scripts, no network) with the summary, a per-attribute bar chart and table.
#pragma once

#include <string>

#include "eval_metrics.h"

namespace faceattr::cli {

struct ReportContext {
  std::string model_path;
  std::string model_name;
  std::string images_dir;
  std::string attrs_path;
  std::string backend;
};

std::string render_html_report(const EvalSummary& summary, const ReportContext& context);

}  // namespace faceattr::cli
