#include "engine/history.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace faceattr::train {

nlohmann::json History::to_json() const {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : records) {
    nlohmann::json e = r.values;
    e["epoch"] = r.epoch;
    a.push_back(e);
  }
  return a;
}

History History::from_json(const nlohmann::json& j) {
  History h;
  for (const auto& e : j) {
    EpochRecord r;
    r.epoch = e.at("epoch").get<int>();
    for (auto it = e.begin(); it != e.end(); ++it)
      if (it.key() != "epoch" && it->is_number()) r.values[it.key()] = it->get<double>();
    h.records.push_back(r);
  }
  return h;
}

static std::vector<std::string> columns(const History& h) {
  std::set<std::string> s;
  for (const auto& r : h.records)
    for (const auto& [k, v] : r.values) s.insert(k);
  return {s.begin(), s.end()};
}

// One SVG chart with every series whose name contains `filter`.
static std::string svg_chart(const History& h, const std::vector<std::string>& cols,
                             const std::string& filter, const std::string& title) {
  const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  const double W = 560, H = 300, L = 60, R = 150, T = 30, B = 40;
  double ymin = 1e30, ymax = -1e30;
  int emax = 1;
  std::vector<std::string> series;
  for (const auto& c : cols)
    if (c.find(filter) != std::string::npos) series.push_back(c);
  for (const auto& r : h.records) {
    emax = std::max(emax, r.epoch);
    for (const auto& c : series) {
      auto it = r.values.find(c);
      if (it != r.values.end() && std::isfinite(it->second)) {
        ymin = std::min(ymin, it->second);
        ymax = std::max(ymax, it->second);
      }
    }
  }
  if (ymin > ymax) return "";
  if (ymax - ymin < 1e-9) ymax = ymin + 1;
  auto X = [&](double e) { return L + (W - L - R) * e / emax; };
  auto Y = [&](double v) { return T + (H - T - B) * (1 - (v - ymin) / (ymax - ymin)); };
  std::ostringstream s;
  char buf[256];
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "'>\n";
  s << "<text x='" << L << "' y='18' font-size='14'>" << title << "</text>\n";
  s << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
    << "' fill='none' stroke='#888'/>\n";
  for (int i = 0; i <= 4; ++i) {
    double v = ymin + (ymax - ymin) * i / 4;
    std::snprintf(buf, sizeof buf, "<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>%.4g</text>\n",
                  L - 4, Y(v) + 3, v);
    s << buf;
  }
  for (int e = 0; e <= emax; e += std::max(1, emax / 8)) {
    std::snprintf(buf, sizeof buf, "<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>%d</text>\n",
                  X(e), H - B + 14, e);
    s << buf;
  }
  s << "<text x='" << (L + W - R) / 2 << "' y='" << H - 6
    << "' font-size='11' text-anchor='middle'>epoch</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    std::string pts;
    for (const auto& r : h.records) {
      auto it = r.values.find(series[k]);
      if (it == r.values.end() || !std::isfinite(it->second)) continue;
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", X(r.epoch), Y(it->second));
      pts += buf;
    }
    const char* col = colours[k % 6];
    s << "<polyline fill='none' stroke='" << col << "' stroke-width='2' points='" << pts << "'/>\n";
    s << "<text x='" << W - R + 8 << "' y='" << T + 14 * (k + 1) << "' font-size='11' fill='" << col << "'>"
      << series[k] << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

void History::write(const std::string& prefix, const std::string& title, const std::string& point) const {
  const auto cols = columns(*this);
  std::ostringstream csv;
  csv << "epoch";
  for (const auto& c : cols) csv << "," << c;
  csv << "\n";
  for (const auto& r : records) {
    csv << r.epoch;
    for (const auto& c : cols) {
      auto it = r.values.find(c);
      csv << ",";
      if (it != r.values.end()) csv << it->second;
    }
    csv << "\n";
  }
  std::ostringstream html;
  html << "<!doctype html><html><head><meta charset='utf-8'><title>" << title
       << "</title></head><body style='font-family:sans-serif'>\n<h2>" << title << "</h2>\n";
  html << svg_chart(*this, cols, "loss", "loss") << svg_chart(*this, cols, "acc", "accuracy")
       << svg_chart(*this, cols, "img_per_s", "throughput (img/s)");
  html << "</body></html>\n";
  write_text_atomic(prefix + ".csv", csv.str(), point);
  write_text_atomic(prefix + ".json", to_json().dump(2) + "\n", point);
  write_text_atomic(prefix + ".html", html.str(), point);
}

}  // namespace faceattr::train
