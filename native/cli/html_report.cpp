#include "html_report.h"

#include <cstdio>

namespace faceattr::cli {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string pct(double v) { return fmt("%.1f", 100.0 * v); }

// Horizontal bars, one row per attribute: accuracy and balanced accuracy.
std::string bar_chart(const EvalSummary& s) {
  const int label_w = 170, bar_w = 460, row_h = 22, top = 30;
  const int height = top + row_h * static_cast<int>(s.names.size()) + 10;
  std::string svg = "<svg role=\"img\" width=\"" + std::to_string(label_w + bar_w + 60) + "\" height=\"" +
                    std::to_string(height) + "\" aria-label=\"Per-attribute accuracy\">\n";
  svg += "<rect x=\"" + std::to_string(label_w) +
         "\" y=\"6\" width=\"12\" height=\"10\" class=\"acc\"/>"
         "<text x=\"" +
         std::to_string(label_w + 16) +
         "\" y=\"15\">accuracy</text>"
         "<rect x=\"" +
         std::to_string(label_w + 100) +
         "\" y=\"6\" width=\"12\" height=\"10\" class=\"bal\"/>"
         "<text x=\"" +
         std::to_string(label_w + 116) + "\" y=\"15\">balanced accuracy</text>\n";
  for (int tick = 0; tick <= 100; tick += 25) {
    const std::string x = std::to_string(label_w + bar_w * tick / 100);
    svg += "<line x1=\"" + x + "\" y1=\"" + std::to_string(top - 4) + "\" x2=\"" + x + "\" y2=\"" +
           std::to_string(height - 10) + "\" class=\"grid\"/>";
  }
  svg += "\n";
  for (size_t i = 0; i < s.names.size(); ++i) {
    const int y = top + row_h * static_cast<int>(i);
    const double acc = s.counts[i].accuracy(), bal = s.counts[i].balanced_accuracy();
    svg += "<text x=\"" + std::to_string(label_w - 6) + "\" y=\"" + std::to_string(y + 14) +
           "\" text-anchor=\"end\">" + escape(s.names[i]) + "</text>";
    svg += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 2) + "\" width=\"" +
           fmt("%.1f", bar_w * acc) + "\" height=\"8\" class=\"acc\"><title>" + escape(s.names[i]) +
           " accuracy " + pct(acc) + "%</title></rect>";
    svg += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 11) + "\" width=\"" +
           fmt("%.1f", bar_w * bal) + "\" height=\"8\" class=\"bal\"><title>" + escape(s.names[i]) +
           " balanced accuracy " + pct(bal) + "%</title></rect>";
    svg += "<text x=\"" + fmt("%.1f", label_w + bar_w * acc + 4) + "\" y=\"" + std::to_string(y + 10) +
           "\" class=\"val\">" + pct(acc) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

std::string render_html_report(const EvalSummary& s, const ReportContext& c) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>faceattr eval: " +
      escape(c.model_name) +
      "</title>\n"
      "<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
      "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}"
      "td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#f3f3f3}\n"
      "svg text{font-size:12px;fill:#222}.acc{fill:#3b6fb6}.bal{fill:#e08a2c}.grid{stroke:#ccc}"
      ".val{font-size:10px}\n"
      "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}dd{margin:0}\n"
      "</style>\n</head>\n<body>\n<h1>faceattr eval</h1>\n<dl>\n";
  auto row = [&](const char* k, const std::string& v) {
    h += std::string("<dt>") + k + "</dt><dd>" + escape(v) + "</dd>\n";
  };
  row("model", c.model_path + (c.model_name.empty() ? "" : " (" + c.model_name + ")"));
  row("backend", c.backend);
  row("images", c.images_dir);
  row("attribute file", c.attrs_path);
  row("images evaluated", std::to_string(s.n_images));
  row("attributes", std::to_string(s.names.size()));
  row("mean accuracy", pct(s.mean_accuracy()) + " %");
  row("mean balanced accuracy", pct(s.mean_balanced_accuracy()) + " %");
  h += "</dl>\n<h2>Per attribute</h2>\n" + bar_chart(s);
  h += "<table>\n<tr><th>attribute</th><th>accuracy %</th><th>balanced %</th><th>positives %</th>"
       "<th>TP</th><th>TN</th><th>FP</th><th>FN</th></tr>\n";
  for (size_t i = 0; i < s.names.size(); ++i) {
    const AttrCounts& k = s.counts[i];
    const double pos = k.total() ? static_cast<double>(k.tp + k.fn) / static_cast<double>(k.total()) : 0.0;
    h += "<tr><td>" + escape(s.names[i]) + "</td><td>" + pct(k.accuracy()) + "</td><td>" +
         pct(k.balanced_accuracy()) + "</td><td>" + pct(pos) + "</td><td>" + std::to_string(k.tp) +
         "</td><td>" + std::to_string(k.tn) + "</td><td>" + std::to_string(k.fp) + "</td><td>" +
         std::to_string(k.fn) + "</td></tr>\n";
  }
  h += "</table>\n</body>\n</html>\n";
  return h;
}

}  // namespace faceattr::cli
