// Checks what `faceattr` printed against what the fixtures say it must be.
//
//   faceattr_native_check predict OUTPUT EXPECTED N JSON Lines of `predict --json` on the
//                                                   first N images of EXPECTED
//   faceattr_native_check eval OUTPUT EXPECTED      `eval --json`
//   faceattr_native_check bench OUTPUT              `bench --json` (structure, consistency)
//   faceattr_native_check html REPORT EXPECTED      `eval --html`: self-contained, every attribute
//   faceattr_native_check explain OUTPUT N ATTRS [CONCEPTS]    `explain --json` on N images, attributes
//                                                   ATTRS (comma-separated) on every face
//   faceattr_native_check png FILE W H              a PNG that decodes to W x H pixels
//   faceattr_native_check thresholds OUTPUT EXPECTED POLICY N   `predict --json [--track]
//                                                   --thresholds POLICY` on N images of
//                                                   expected_thresholds.json's grey.png
//
// Prints every failed check and exits 1 if there was any.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb_image.h>

using json = nlohmann::json;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

void check_predict(const std::string& out_path, const std::string& exp_path, size_t n_images) {
  const json exp = json::parse(read_text(exp_path));
  const std::vector<std::string> names = exp["names"];
  const std::vector<double> thresholds = exp["thresholds"];
  std::vector<json> lines;
  std::istringstream in(read_text(out_path));
  for (std::string line; std::getline(in, line);) {
    check(!line.empty(), "no empty lines in JSON Lines output");
    if (!line.empty()) lines.push_back(json::parse(line));  // throws on invalid JSON
  }
  const json& images = exp["images"];
  check(n_images <= images.size(), "at most as many images as expected_predict.json lists");
  check(lines.size() == n_images, "one JSON line per image: " + std::to_string(lines.size()));
  for (size_t i = 0; i < lines.size() && i < images.size(); ++i) {
    const json& got = lines[i];
    const json& want = images[i];
    const std::string tag = "image " + std::to_string(i) + ": ";
    check(got.is_object() && keys_of(got) == std::set<std::string>{"image", "faces"},
          tag + "keys image, faces");
    check(got["image"] == want["image"], tag + "image path echoed");
    check(got["faces"].is_array() && got["faces"].size() == 1, tag + "one face without an LNet");
    if (!got["faces"].is_array() || got["faces"].empty()) continue;
    const json& face = got["faces"][0];
    check(keys_of(face) == std::set<std::string>{"box", "score", "attributes"}, tag + "face keys");
    check(face["box"].is_array() && face["box"].size() == 4, tag + "box has 4 numbers");
    for (size_t k = 0; k < 4 && k < face["box"].size(); ++k) {
      check(std::fabs(face["box"][k].get<double>() - want["box"][k].get<double>()) <= 0.5,
            tag + "box[" + std::to_string(k) + "] = " + face["box"][k].dump() + ", want " +
                want["box"][k].dump());
    }
    check(face["score"].get<double>() == 1.0, tag + "score 1 without an LNet");
    const json& attrs = face["attributes"];
    check(attrs.is_object() && attrs.size() == names.size(), tag + "one entry per model attribute");
    for (size_t a = 0; a < names.size(); ++a) {
      const std::string at = tag + names[a] + ": ";
      if (!attrs.contains(names[a])) {
        check(false, at + "missing");
        continue;
      }
      const json& e = attrs[names[a]];
      check(keys_of(e) == std::set<std::string>{"p", "present"}, at + "keys p, present");
      const double p = e["p"].get<double>();
      const bool present = e["present"].get<bool>();
      check(p >= 0.0 && p <= 1.0, at + "p in [0, 1]");
      check(present == (p >= thresholds[a]), at + "present == (p >= threshold)");
      const bool want_present = want["present"][a].get<bool>();
      check(present == want_present, at + "present is " + (want_present ? "true" : "false"));
      check(want_present ? p > 0.999 : p < 0.001,
            at + "p = " + std::to_string(p) + " far from the threshold");
    }
  }
}

// Each face's present flags follow POLICY's thresholds, and differ from the other policy's
// exactly where p lies between the two thresholds.
void check_thresholds(const std::string& out_path, const std::string& exp_path, const std::string& policy,
                      size_t n_images) {
  const json exp = json::parse(read_text(exp_path));
  const std::string other = policy == "balanced" ? "accuracy" : "balanced";
  check(exp["thresholds"].contains(policy), "policy " + policy + " in " + exp_path);
  const std::vector<std::string> names = exp["names"];
  const std::vector<double> want_p = exp["p"];
  const std::vector<double> thr = exp["thresholds"][policy], other_thr = exp["thresholds"][other];
  const std::vector<bool> want = exp["present"][policy];
  std::vector<json> lines;
  std::istringstream in(read_text(out_path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  check(lines.size() == n_images, "one JSON line per image: " + std::to_string(lines.size()));
  size_t differ = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& faces = lines[i]["faces"];
    check(faces.is_array() && faces.size() == 1, "image " + std::to_string(i) + ": one face");
    if (!faces.is_array() || faces.empty()) continue;
    const json& attrs = faces[0]["attributes"];
    for (size_t a = 0; a < names.size(); ++a) {
      const std::string at = "image " + std::to_string(i) + " " + names[a] + ": ";
      if (!attrs.contains(names[a])) {
        check(false, at + "missing");
        continue;
      }
      const double p = attrs[names[a]]["p"].get<double>();
      const bool present = attrs[names[a]]["present"].get<bool>();
      check(std::fabs(p - want_p[a]) <= 1e-4,
            at + "p = " + std::to_string(p) + ", want " + std::to_string(want_p[a]));
      check(present == (p >= thr[a]), at + "present == (p >= the " + policy + " threshold)");
      check(present == want[a], at + "present is " + (want[a] ? "true" : "false"));
      const bool between = std::min(thr[a], other_thr[a]) <= p && p < std::max(thr[a], other_thr[a]);
      const bool other_present = exp["present"][other][a].get<bool>();
      check((present != other_present) == between,
            at + "differs from the " + other + " policy iff p is between");
      differ += present != other_present ? 1 : 0;
    }
  }
  check(n_images == 0 || differ > 0, "some attributes decided differently by the two policies");
}

void check_close(const json& got, const json& want, const std::string& what) {
  check(got.is_number() && std::fabs(got.get<double>() - want.get<double>()) <= 1e-9,
        what + " = " + got.dump() + ", want " + want.dump());
}

void check_eval(const std::string& out_path, const std::string& exp_path) {
  const json got = json::parse(read_text(out_path));
  const json exp = json::parse(read_text(exp_path));
  check(keys_of(got) == std::set<std::string>{"n_images", "split", "mean_accuracy", "mean_balanced_accuracy",
                                              "per_attribute", "calibration", "slices"},
        "eval keys");
  check(got["n_images"] == exp["n_images"],
        "n_images = " + got["n_images"].dump() + ", want " + exp["n_images"].dump());
  check(got["split"] == exp["split"], "split = " + got["split"].dump() + ", want " + exp["split"].dump());
  check_close(got["mean_accuracy"], exp["mean_accuracy"], "mean_accuracy");
  check_close(got["mean_balanced_accuracy"], exp["mean_balanced_accuracy"], "mean_balanced_accuracy");
  check(got["per_attribute"].size() == exp["per_attribute"].size(), "per_attribute size");
  for (auto it = exp["per_attribute"].begin(); it != exp["per_attribute"].end(); ++it) {
    if (!got["per_attribute"].contains(it.key())) {
      check(false, "per_attribute." + it.key() + " missing");
      continue;
    }
    const json& g = got["per_attribute"][it.key()];
    check(keys_of(g) == std::set<std::string>{"accuracy", "balanced_accuracy", "ece", "distinct_p"},
          it.key() + " keys");
    check_close(g["accuracy"], it.value()["accuracy"], it.key() + ".accuracy");
    check_close(g["balanced_accuracy"], it.value()["balanced_accuracy"], it.key() + ".balanced_accuracy");
    // The brightness model's p is within 1e-4 of 0 or 1: ECE = 1 - accuracy to that precision.
    check(std::fabs(g["ece"].get<double>() - it.value()["ece"].get<double>()) < 1e-3,
          it.key() + ".ece = " + g["ece"].dump() + ", want about " + it.value()["ece"].dump());
    check(g["distinct_p"] == it.value()["distinct_p"], it.key() + ".distinct_p = " + g["distinct_p"].dump());
  }
  const json& cal = got["calibration"];
  check(cal["bins"] == 15, "calibration.bins = 15");
  double ece_sum = 0;
  for (const auto& [name, a] : got["per_attribute"].items()) ece_sum += a["ece"].get<double>();
  check(std::fabs(cal["mean_ece"].get<double>() - ece_sum / double(got["per_attribute"].size())) < 1e-9,
        "calibration.mean_ece: the mean of the attributes' ECE");
  check(cal["distinct_p_min"].is_number_integer() && cal["distinct_p_median"].is_number(),
        "calibration.distinct_p_min, distinct_p_median");
  // Slices: the expected counts and means; every interval holds its estimate.
  const json& sl = got["slices"];
  check(sl["by"] == json::array({"Male", "Young", "Pale_Skin"}), "slices.by");
  check(sl["bootstrap"]["resamples"] == 1000, "slices.bootstrap.resamples = 1000");
  check(sl["slices"].size() == 8 && exp["slices"].size() == 8, "8 slices");
  for (size_t s = 0; s < 8 && s < sl["slices"].size(); ++s) {
    const json& g = sl["slices"][s];
    const json& e = exp["slices"][s];
    const std::string at = "slices[" + std::to_string(s) + "] ";
    check(g["Male"] == ((s & 4) != 0) && g["Young"] == ((s & 2) != 0) && g["Pale_Skin"] == ((s & 1) != 0),
          at + "labels");
    check(g["n"] == e["n"], at + "n = " + g["n"].dump() + ", want " + e["n"].dump());
    if (e["n"] == 0) {
      check(g["mean_accuracy"].is_null() && g["mean_accuracy_ci95"].is_null(), at + "empty: null");
      continue;
    }
    for (const char* k : {"mean_accuracy", "mean_balanced_accuracy"}) {
      check_close(g[k], e[k], at + k);
      const json& ci = g[std::string(k) + "_ci95"];
      check(ci.size() == 2 && ci[0].get<double>() <= g[k].get<double>() + 1e-12 &&
                g[k].get<double>() <= ci[1].get<double>() + 1e-12,
            at + k + "_ci95 holds the estimate");
      if (e["n"] == 1) check(ci[0] == g[k] && ci[1] == g[k], at + k + "_ci95: one image, no spread");
    }
  }
}

void check_bench(const std::string& out_path) {
  const json got = json::parse(read_text(out_path));
  for (const char* k : {"model", "image", "width", "height", "threads", "runs", "warmup", "results"}) {
    check(got.contains(k), std::string("bench key ") + k);
  }
  check(got["image"] == "synthetic" && got["width"] == 320 && got["height"] == 240,
        "synthetic 320x240 frame");
  const json& results = got["results"];
  check(results.is_array() && !results.empty(), "results not empty");
  bool saw_reference = false;
  std::set<std::string> backends;
  for (const json& r : results) {
    const std::string b = r["backend"];
    check(backends.insert(b).second, "backend " + b + " once");
    if (r.contains("error")) {
      check(b != "reference", "the reference backend runs every model");
      continue;
    }
    for (const char* stage : {"preprocess_ms", "lnet_ms", "anet_ms", "total_ms"}) {
      const double med = r[stage]["median"], p90 = r[stage]["p90"];
      check(med >= 0 && p90 >= med, b + " " + stage + ": 0 <= median <= p90");
    }
    check(r["anet_ms"]["median"].get<double>() > 0, b + ": ANet ran");
    check(r["lnet_ms"]["median"].get<double>() == 0, b + ": no LNet stage without an LNet model");
    // Stages run inside the timed predict call, so their sum cannot exceed it (+ rounding).
    const double stages = r["preprocess_ms"]["median"].get<double>() + r["anet_ms"]["median"].get<double>();
    check(stages <= 1.5 * r["total_ms"]["median"].get<double>() + 0.01, b + ": stages within total");
    if (b == "reference") {
      saw_reference = true;
      check(r["speedup_vs_reference"] == 1.0, "reference speedup 1");
    } else {
      check(r["speedup_vs_reference"].get<double>() > 0, b + ": speedup > 0");
    }
  }
  check(saw_reference, "reference backend benchmarked");
  // The machine: a CPU with cores, ISA lists, and the SIMD target among those compiled.
  check(got.contains("machine"), "bench key machine");
  if (!got.contains("machine")) return;
  const json& m = got["machine"];
  check(m["cores"].get<int>() >= 1 && m["processors"].get<int>() >= m["cores"].get<int>(), "machine: cores");
  check(m["isa"].is_array() && m["lacking"].is_array() && m["isa"].size() + m["lacking"].size() >= 4,
        "machine: the ISA extensions checked");
  const json& simd = m["simd"];
  const json& compiled = simd["compiled"];
  const std::string target = simd["target"];
  check(!target.empty() && std::find(compiled.begin(), compiled.end(), target) != compiled.end(),
        "machine: the SIMD target (" + target + ") is one of those compiled");
  check(!simd["int8"].get<std::string>().empty(), "machine: the int8 path named");
  const int bits = simd["vector_bits"];
  check(bits == 128 || bits == 256 || bits == 512, "machine: vector bits 128, 256 or 512");
}

void check_html(const std::string& report_path, const std::string& exp_path) {
  const std::string html = read_text(report_path);
  const json exp = json::parse(read_text(exp_path));
  check(html.rfind("<!DOCTYPE html>", 0) == 0, "starts with <!DOCTYPE html>");
  check(html.find("</html>") != std::string::npos, "complete document");
  check(html.find("<svg") != std::string::npos, "inline SVG chart");
  for (const char* banned : {"<script", "http://", "https://", "<link", "src="}) {
    check(html.find(banned) == std::string::npos, std::string("self-contained: no ") + banned);
  }
  for (auto it = exp["per_attribute"].begin(); it != exp["per_attribute"].end(); ++it) {
    check(html.find(it.key()) != std::string::npos, "attribute " + it.key() + " in the report");
  }
}

// Shape of `explain --json`: per face, each attribute's p, logit (sigmoid(logit) = p), concepts, peak
// inside the map's box, and a width x height map.
// `concepts`: the concept terms each attribute must list (0 for a model without concept heads).
void check_explain(const std::string& out_path, size_t n_images, const std::string& attrs, size_t concepts) {
  std::ifstream in(out_path);
  std::vector<std::string> names;
  std::stringstream ss(attrs);
  for (std::string a; std::getline(ss, a, ',');) names.push_back(a);
  size_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++lines;
    const json j = json::parse(line);
    check(j["image"].is_string() && j["faces"].is_array(), "explain: image and faces");
    for (const json& f : j["faces"]) {
      check(f["box"].size() == 4, "explain: face box");
      check(f["explain"].size() == names.size(), "explain: one entry per --attrs name");
      for (const std::string& a : names) {
        const json& e = f["explain"][a];
        const std::string tag = "explain " + a + ": ";
        const double p = e["p"].get<double>(), logit = e["logit"].get<double>();
        check(p >= 0 && p <= 1 && std::fabs(1 / (1 + std::exp(-logit)) - p) < 1e-4,
              tag + "p = sigmoid(logit)");
        const json& m = e["map"];
        const int w = m["width"].get<int>(), h = m["height"].get<int>();
        check(w > 0 && h > 0 && m["values"].size() == static_cast<size_t>(w) * h,
              tag + "width x height values");
        const double bx = m["box"][0], by = m["box"][1], bw = m["box"][2], bh = m["box"][3];
        const double px = e["peak"][0], py = e["peak"][1];
        check(px >= bx && px <= bx + bw && py >= by && py <= by + bh, tag + "peak inside the map's box");
        // The concept head's terms, largest |contribution| first.
        const json& c = e["concepts"];
        check(c.is_array() && c.size() == concepts, tag + std::to_string(concepts) + " concept terms");
        for (size_t k = 0; k < c.size(); ++k) {
          check(c[k]["name"].is_string() && !c[k]["name"].get<std::string>().empty() &&
                    c[k]["contribution"].is_number(),
                tag + "concept name and contribution");
          if (k > 0)
            check(std::fabs(c[k]["contribution"].get<double>()) <=
                      std::fabs(c[k - 1]["contribution"].get<double>()),
                  tag + "concepts by |contribution|");
        }
      }
    }
  }
  check(lines == n_images, "explain: one line per image");
}

void check_png(const std::string& path, int w, int h) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int x = 0, y = 0, c = 0;
  unsigned char* px = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                            static_cast<int>(bytes.size()), &x, &y, &c, 3);
  check(px != nullptr, path + ": a PNG");
  check(x == w && y == h, path + ": " + std::to_string(w) + "x" + std::to_string(h));
  stbi_image_free(px);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "predict" && argc == 5) {
      check_predict(argv[2], argv[3], std::stoul(argv[4]));
    } else if (mode == "eval" && argc == 4) {
      check_eval(argv[2], argv[3]);
    } else if (mode == "bench" && argc == 3) {
      check_bench(argv[2]);
    } else if (mode == "html" && argc == 4) {
      check_html(argv[2], argv[3]);
    } else if (mode == "explain" && (argc == 5 || argc == 6)) {
      check_explain(argv[2], std::stoul(argv[3]), argv[4], argc == 6 ? std::stoul(argv[5]) : 0);
    } else if (mode == "png" && argc == 5) {
      check_png(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
    } else if (mode == "thresholds" && argc == 6) {
      check_thresholds(argv[2], argv[3], argv[4], std::stoul(argv[5]));
    } else {
      std::fprintf(stderr,
                   "usage: %s predict OUT EXPECTED N | eval OUT EXPECTED | bench OUT | html REPORT EXPECTED "
                   "| explain OUT N "
                   "ATTRS [CONCEPTS] | png FILE W H | thresholds OUT EXPECTED POLICY N\n",
                   argv[0]);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAILED: %s\n", e.what());
    return 1;
  }
  if (failures) std::fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
