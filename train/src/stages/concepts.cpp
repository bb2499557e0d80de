// anet-concepts. The units of ANet's last feature map (the global average
// pool's input) are grouped by the correlation of their pooled activations over
// the training split (average-linkage clustering); a concept's activation is
// the mean of its units' standardised pooled activations. The number of
// concepts is chosen on the training split alone (an identity-disjoint inner
// hold-out scores k = 5 sparse heads for each candidate set, single units
// included). Each attribute then gets an L1 logistic path over the concepts and a
// forward stepwise selection; its k-concept head is refitted on the k concepts the
// path selects first or on the stepwise k, whichever fits the training split better,
// and scored on the validation split against the model's own decisions.
#include "stages/concepts.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/history.h"
#include "engine/splits.h"
#include "model_def.h"
#include "stages/concepts_features.h"
#include "stages/concepts_math.h"

namespace faceattr::train {
namespace mf = faceattr::modelfile;
using namespace concepts;
using nlohmann::json;

namespace {

// The ks the path is refitted at: every k up to 10 (the "concepts needed" count).
const std::vector<int> kRefitKs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
const std::vector<int> kTableKs = {1, 3, 5, 10};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Labelled {
  std::vector<std::string> paths;
  torch::Tensor y;  // [N, A] 0/1
  std::vector<int> identity;
};

Labelled take(const Dataset& d, const std::vector<int>* identity, int limit) {
  Labelled l;
  const size_t n = limit > 0 ? std::min(d.samples.size(), static_cast<size_t>(limit)) : d.samples.size();
  std::vector<float> flat;
  for (size_t i = 0; i < n; ++i) {
    l.paths.push_back(d.samples[i].path);
    flat.insert(flat.end(), d.samples[i].attrs.begin(), d.samples[i].attrs.end());
    l.identity.push_back(identity ? (*identity)[i] : -1);
  }
  const int64_t A = static_cast<int64_t>(d.samples.at(0).attrs.size());
  l.y = torch::tensor(flat).reshape({static_cast<int64_t>(n), A});
  return l;
}

// A candidate concept set: clusters of units (k = their count) or every live unit alone.
std::vector<std::vector<int>> make_concepts(const torch::Tensor& pooled, int k,
                                            const std::vector<int>& dead) {
  if (k > 0) return cluster_units(pooled, k, dead);
  std::vector<std::vector<int>> units;
  for (int u = 0; u < static_cast<int>(pooled.size(1)); ++u)
    if (!std::binary_search(dead.begin(), dead.end(), u)) units.push_back({u});
  return units;
}

// Sparse heads for every k in ks, fitted on (x_fit, y_fit): per attribute, the refit on
// the L1 path's first k concepts or on forward stepwise selection's k, whichever reaches
// the lower training objective. *stepwise_taken[i] counts the attributes that took the
// stepwise support at ks[i].
std::vector<SparseHead> sparse_heads(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                                     const std::vector<int>& ks, std::vector<int>* stepwise_taken = nullptr) {
  std::vector<int> usable;
  for (int k : ks) usable.push_back(std::min<int>(k, static_cast<int>(x_fit.size(1))));
  const auto l1 = l1_supports(x_fit, y_fit, usable);
  const auto stepwise = stepwise_supports(x_fit, y_fit, *std::max_element(usable.begin(), usable.end()));
  std::vector<SparseHead> heads;
  if (stepwise_taken) stepwise_taken->clear();
  for (size_t i = 0; i < usable.size(); ++i) {
    torch::Tensor took;
    heads.push_back(lower_objective(refit(x_fit, y_fit, l1[i]),
                                    refit(x_fit, y_fit, stepwise[static_cast<size_t>(usable[i] - 1)]),
                                    &took));
    if (stepwise_taken) stepwise_taken->push_back(static_cast<int>(took.sum().item<int64_t>()));
  }
  return heads;
}

std::string set_label(int k) { return k > 0 ? std::to_string(k) + " clusters" : "units"; }

// "<region>: A+ B-" from the two attributes with the largest |correlation| and where the concept fires.
std::string concept_name(const std::string& region, const torch::Tensor& r,
                         const std::vector<std::string>& attrs) {
  auto order = std::get<1>(r.abs().sort(0, /*descending=*/true));
  std::string s = region + ":";
  for (int i = 0; i < 2 && i < r.size(0); ++i) {
    const int64_t a = order[i].item<int64_t>();
    s += " " + attrs[static_cast<size_t>(a)] + (r[a].item<float>() >= 0 ? "+" : "-");
  }
  return s;
}

// Where a concept fires: centroid of its mean map (minus its minimum) on the grid.
json concept_location(const torch::Tensor& cmap, int gh, int gw, std::string* region) {
  auto m = (cmap - cmap.min()).reshape({gh, gw}).to(torch::kDouble);
  const double total = std::max(1e-12, m.sum().item<double>());
  auto rows = torch::arange(gh, torch::kDouble).unsqueeze(1), cols = torch::arange(gw, torch::kDouble);
  const double fy = ((m * rows).sum().item<double>() / total + 0.5) / gh;
  const double fx = ((m * cols).sum().item<double>() / total + 0.5) / gw;
  std::string v = fy < 1.0 / 3 ? "top" : fy < 2.0 / 3 ? "middle" : "bottom";
  std::string h = fx < 0.4 ? "-left" : fx > 0.6 ? "-right" : "";
  *region = v + h;
  const int64_t peak = cmap.argmax().item<int64_t>();
  return {{"centroid", {fx, fy}}, {"peak_cell", {peak % gw, peak / gw}}, {"region", *region}};
}

json round_vec(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", 100.0 * v);
  return b;
}

}  // namespace

void run_anet_concepts(const Options& o, const ConceptsArgs& a) {
  torch::manual_seed(o.seed);
  const auto t_start = std::chrono::steady_clock::now();
  const std::string report_dir = a.report.empty() ? o.run_dir + "/concepts" : a.report;
  std::filesystem::create_directories(report_dir);
  const std::vector<uint8_t> bytes = mf::read_file(a.model);
  const mf::ModelDef def = mf::parse(bytes.data(), bytes.size());
  std::string layer;
  const std::vector<uint8_t> probe = with_feature_output(bytes, &layer);

  AttributeSplits splits = make_attribute_splits(o);
  if (splits.attribute_names != def.attribute_names)
    throw std::runtime_error("anet-concepts: the model's attributes are not CelebA's 40 in file order");
  const auto& names = def.attribute_names;
  const int64_t A = static_cast<int64_t>(names.size());
  const Labelled tr = take(splits.train, &splits.train_identity, a.limit);
  const Labelled va = take(splits.val, nullptr, a.val_limit);
  std::fprintf(stderr, "[concepts] %s: %zu train / %zu val images, layer %s\n", a.model.c_str(),
               tr.paths.size(), va.paths.size(), layer.c_str());
  const FeatureSet ftr = extract_features(probe, tr.paths, o.threads);
  const FeatureSet fva = extract_features(probe, va.paths, o.threads);
  const double t_features = seconds_since(t_start);
  std::fprintf(stderr, "[concepts] features %dx%d x %lld units in %.0f s\n", ftr.grid_h, ftr.grid_w,
               static_cast<long long>(ftr.pooled.size(1)), t_features);

  // The full head: the model's own decisions with its shipped thresholds.
  auto thr = torch::tensor(def.thresholds);
  const auto head_acc = accuracy(fva.probs >= thr, va.y);
  const double head_mean = head_acc.mean().item<double>();
  std::fprintf(stderr, "[concepts] full head: val acc %.2f%%\n", 100 * head_mean);

  const Standardiser st = standardiser_of(ftr.pooled);
  std::vector<int> dead;
  auto sd = ftr.pooled.std(0, false);
  for (int64_t u = 0; u < sd.size(0); ++u)
    if (sd[u].item<float>() < 1e-6f) dead.push_back(static_cast<int>(u));

  // Choosing the concept set on the training split: inner hold-out by identity.
  std::vector<int64_t> fit_idx, held_idx;
  for (size_t i = 0; i < tr.identity.size(); ++i)
    (tr.identity[i] % 5 == 1 ? held_idx : fit_idx).push_back(static_cast<int64_t>(i));
  auto fi = torch::tensor(fit_idx), hi = torch::tensor(held_idx);
  // Candidate sets: clusters only by default (the path over all 384 single units is
  // slow on CPU BLAS); --units-too adds single units.
  std::vector<int> candidates = {16, 32, 64};
  if (a.units_too) candidates.push_back(0);
  json selection = json::array();
  double best = -1;
  std::vector<double> held_acc;
  for (int k : candidates) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto p_fit = ftr.pooled.index_select(0, fi);
    const auto cs = make_concepts(p_fit, k, dead);
    const Standardiser s_fit = standardiser_of(p_fit);
    const auto x_fit = concept_activations(p_fit, cs, s_fit);
    const auto x_held = concept_activations(ftr.pooled.index_select(0, hi), cs, s_fit);
    const double t_cluster = seconds_since(t0);
    const auto heads = sparse_heads(x_fit, tr.y.index_select(0, fi), {5});
    const double acc = accuracy(heads[0].decide(x_held), tr.y.index_select(0, hi)).mean().item<double>();
    held_acc.push_back(acc);
    best = std::max(best, acc);
    selection.push_back({{"set", set_label(k)}, {"concepts", cs.size()}, {"train_holdout_k5_acc", acc}});
    std::fprintf(
        stderr, "[concepts] choice on train: %s (%zu): k=5 hold-out acc %.2f%% (%.0f s, clustering %.0f s)\n",
        set_label(k).c_str(), cs.size(), 100 * acc, seconds_since(t0), t_cluster);
  }
  // The smallest set within 0.1 point of the best (candidates run from few to many).
  size_t chosen = 0;
  while (held_acc[chosen] < best - 0.001) ++chosen;
  const int chosen_k = candidates[chosen];

  // Every candidate refitted on the whole training split and scored on validation.
  json sets = json::array();
  std::vector<std::vector<int>> cs;
  torch::Tensor x_tr, x_va;
  std::vector<SparseHead> heads;
  std::vector<torch::Tensor> accs;
  for (int k : candidates) {
    auto c = make_concepts(ftr.pooled, k, dead);
    auto xt = concept_activations(ftr.pooled, c, st);
    auto xv = concept_activations(fva.pooled, c, st);
    std::vector<int> taken;
    auto h = sparse_heads(xt, tr.y, kRefitKs, &taken);
    json row = {{"set", set_label(k)}, {"concepts", c.size()}, {"chosen", k == chosen_k}};
    for (size_t i = 0; i < kRefitKs.size(); ++i)
      row["stepwise_support"][std::to_string(kRefitKs[i])] = taken[i];
    std::vector<torch::Tensor> acc;
    for (size_t i = 0; i < kRefitKs.size(); ++i) acc.push_back(accuracy(h[i].decide(xv), va.y));
    for (size_t i = 0; i < kRefitKs.size(); ++i)
      row["val_acc"][std::to_string(kRefitKs[i])] = acc[i].mean().item<double>();
    std::fprintf(stderr, "[concepts] %s: val acc k=1 %.2f k=3 %.2f k=5 %.2f k=10 %.2f (full head %.2f)\n",
                 set_label(k).c_str(), 100 * acc[0].mean().item<double>(), 100 * acc[2].mean().item<double>(),
                 100 * acc[4].mean().item<double>(), 100 * acc[9].mean().item<double>(), 100 * head_mean);
    sets.push_back(row);
    if (k == chosen_k) cs = std::move(c), x_tr = xt, x_va = xv, heads = std::move(h), accs = std::move(acc);
  }
  const int64_t K = static_cast<int64_t>(cs.size());

  // Describing the chosen concepts: attribute correlations, location, top crops, name.
  auto zx = (x_tr - x_tr.mean(0)) / x_tr.std(0, false).clamp_min(1e-6);
  auto zy = (tr.y - tr.y.mean(0)) / tr.y.std(0, false).clamp_min(1e-6);
  auto corr = zx.t().matmul(zy) / static_cast<double>(x_tr.size(0));  // [K, A] point-biserial
  auto unit_maps =
      (ftr.map_sum.to(torch::kFloat) / static_cast<double>(tr.paths.size())) / st.scale.unsqueeze(1);
  std::vector<std::string> cnames;
  json cdesc = json::array();
  const std::string sheets = report_dir + "/concepts";
  std::filesystem::create_directories(sheets);
  for (int64_t j = 0; j < K; ++j) {
    const auto& units = cs[static_cast<size_t>(j)];
    auto idx = torch::tensor(std::vector<int64_t>(units.begin(), units.end()));
    auto cmap = unit_maps.index_select(0, idx).mean(0);
    std::string region;
    json loc = concept_location(cmap, ftr.grid_h, ftr.grid_w, &region);
    std::string name = concept_name(region, corr[j], names);
    const std::string base = name;
    for (int dup = 2; std::find(cnames.begin(), cnames.end(), name) != cnames.end(); ++dup)
      name = base + " #" + std::to_string(dup);
    cnames.push_back(name);
    auto top = std::get<1>(x_tr.select(1, j).topk(std::min<int64_t>(16, x_tr.size(0))));
    std::vector<std::string> crops;
    for (int64_t i = 0; i < top.size(0); ++i)
      crops.push_back(tr.paths[static_cast<size_t>(top[i].item<int64_t>())]);
    char file[32];
    std::snprintf(file, sizeof file, "concept_%03lld.png", static_cast<long long>(j));
    write_contact_sheet(sheets + "/" + file, crops, 8, 89, 109);
    json top_attrs = json::array();
    auto order = std::get<1>(corr[j].abs().sort(0, true));
    for (int i = 0; i < 5; ++i) {
      const int64_t at = order[i].item<int64_t>();
      top_attrs.push_back({names[static_cast<size_t>(at)], corr[j][at].item<float>()});
    }
    cdesc.push_back({{"index", j},
                     {"name", name},
                     {"units", units},
                     {"location", loc},
                     {"map", round_vec(cmap)},
                     {"attributes", top_attrs},
                     {"sheet", std::string("concepts/") + file}});
  }

  // Per-attribute results of the chosen set; the k = 5 heads go into the metadata.
  const size_t k5 = 4;
  json per_attr = json::array(), weights = json::object();
  std::vector<int> use(static_cast<size_t>(K), 0);
  std::vector<double> use_weight(static_cast<size_t>(K), 0.0);
  auto csd = x_tr.std(0, false);
  for (int64_t at = 0; at < A; ++at) {
    json row = {{"attribute", names[static_cast<size_t>(at)]}, {"full_head", head_acc[at].item<double>()}};
    int needed = -1;
    for (size_t i = 0; i < kRefitKs.size(); ++i) {
      const double acc = accs[i][at].item<double>();
      if (std::find(kTableKs.begin(), kTableKs.end(), kRefitKs[i]) != kTableKs.end())
        row["k" + std::to_string(kRefitKs[i])] = acc;
      if (needed < 0 && acc >= head_acc[at].item<double>() - 0.01) needed = kRefitKs[i];
    }
    row["needed"] = needed;  // -1: not within 1 point at 10 concepts
    per_attr.push_back(row);
    json terms = json::array();
    const auto& h = heads[k5];
    std::vector<std::pair<double, int64_t>> nz;
    for (int64_t j = 0; j < K; ++j)
      if (h.weight[at][j].item<float>() != 0.0f)
        nz.push_back({-std::fabs(h.weight[at][j].item<double>() * csd[j].item<double>()), j});
    std::sort(nz.begin(), nz.end());
    for (const auto& [neg, j] : nz) {
      terms.push_back({j, h.weight[at][j].item<float>()});
      ++use[static_cast<size_t>(j)];
      use_weight[static_cast<size_t>(j)] -= neg;
    }
    weights[names[static_cast<size_t>(at)]] = {
        {"bias", h.bias[at].item<float>()}, {"threshold", h.threshold[at].item<float>()}, {"terms", terms}};
  }
  std::vector<int64_t> by_use(static_cast<size_t>(K));
  for (int64_t j = 0; j < K; ++j) by_use[static_cast<size_t>(j)] = j;
  std::stable_sort(by_use.begin(), by_use.end(), [&](int64_t x, int64_t y) {
    return use[x] != use[y] ? use[x] > use[y] : use_weight[x] > use_weight[y];
  });
  json most_used = json::array();
  for (size_t i = 0; i < std::min<size_t>(10, by_use.size()); ++i) {
    const int64_t j = by_use[i];
    most_used.push_back(
        {{"index", j}, {"name", cnames[j]}, {"attributes_using", use[j]}, {"units", cs[j].size()}});
  }

  json report = {{"model", a.model},
                 {"layer", layer},
                 {"grid", {ftr.grid_h, ftr.grid_w}},
                 {"train_images", tr.paths.size()},
                 {"val_images", va.paths.size()},
                 {"dead_units", dead.size()},
                 {"full_head_val_acc", head_mean},
                 {"selection_on_train", selection},
                 {"sets", sets},
                 {"chosen", set_label(chosen_k)},
                 {"k5_mean_val_acc", accs[k5].mean().item<double>()},
                 {"target_k5_within_1_point", accs[k5].mean().item<double>() >= head_mean - 0.01},
                 {"per_attribute", per_attr},
                 {"most_used", most_used},
                 {"concepts", cdesc}};

  // The metadata: the concept definitions, names and k = 5 heads (docs/model-format.md).
  if (!a.out.empty()) {
    json units = {{"layer", layer},
                  {"activation", "mean over units of (pooled - unit_mean) / unit_scale"},
                  {"unit_mean", round_vec(st.mean)},
                  {"unit_scale", round_vec(st.scale)},
                  {"concepts", cs}};
    mf::ModelDef out = def;
    out.metadata.erase(std::remove_if(out.metadata.begin(), out.metadata.end(),
                                      [](const auto& kv) { return kv.first.rfind("concepts.", 0) == 0; }),
                       out.metadata.end());
    out.metadata.push_back({"concepts.names", json(cnames).dump()});
    out.metadata.push_back({"concepts.units", units.dump()});
    out.metadata.push_back({"concepts.weights", weights.dump()});
    const std::vector<uint8_t> out_bytes = mf::serialize(out);
    std::vector<std::string> check(va.paths.begin(),
                                   va.paths.begin() + std::min<size_t>(64, va.paths.size()));
    const auto before = reference_outputs(bytes, check), after = reference_outputs(out_bytes, check);
    const bool same = before.size() == after.size() &&
                      std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0;
    report["metadata_check"] = {{"images", check.size()}, {"bit_identical", same}};
    if (!same) throw std::runtime_error("anet-concepts: the copy with metadata predicts differently");
    write_file_atomic(a.out, as_bytes(out_bytes), "export");
    std::fprintf(stderr, "[concepts] wrote %s (outputs bit-identical on %zu images)\n", a.out.c_str(),
                 check.size());
  }
  report["seconds"] = seconds_since(t_start);
  write_text_atomic(report_dir + "/report.json", report.dump(2) + "\n");

  std::string md = "# Concepts of " + a.model + "\n\n";
  md += std::to_string(tr.paths.size()) + " training / " + std::to_string(va.paths.size()) +
        " validation images; concept set chosen on the training split: " + set_label(chosen_k) + " (" +
        std::to_string(K) +
        " concepts).\n\n| concepts | k = 1 | k = 3 | k = 5 | k = 10 | full head |\n| --- | --- | --- | --- | "
        "--- | --- |\n";
  for (const auto& s : sets) {
    md += "| " + s["set"].get<std::string>() + (s["chosen"].get<bool>() ? " (chosen)" : "");
    for (int k : kTableKs) md += " | " + pct(s["val_acc"][std::to_string(k)].get<double>());
    md += " | " + pct(head_mean) + " |\n";
  }
  md +=
      "\n| attribute | full head | k = 1 | k = 3 | k = 5 | k = 10 | concepts needed |\n| --- | --- | --- | "
      "--- | --- | --- | --- |\n";
  for (const auto& r : per_attr) {
    md += "| " + r["attribute"].get<std::string>() + " | " + pct(r["full_head"].get<double>());
    for (int k : kTableKs) md += " | " + pct(r["k" + std::to_string(k)].get<double>());
    const int n = r["needed"].get<int>();
    md += " | " + (n > 0 ? std::to_string(n) : std::string("> 10")) + " |\n";
  }
  md += "\n| concept | name | units | attributes using it (k = 5) |\n| --- | --- | --- | --- |\n";
  for (const auto& m : most_used)
    md += "| " + std::to_string(m["index"].get<int64_t>()) + " | " + m["name"].get<std::string>() + " | " +
          std::to_string(m["units"].get<size_t>()) + " | " +
          std::to_string(m["attributes_using"].get<int>()) + " |\n";
  write_text_atomic(report_dir + "/report.md", md);
  std::fprintf(stderr, "[concepts] %s: k=5 mean val acc %.2f%% vs full head %.2f%%; report in %s (%.0f s)\n",
               set_label(chosen_k).c_str(), 100 * accs[k5].mean().item<double>(), 100 * head_mean,
               report_dir.c_str(), seconds_since(t_start));
}

}  // namespace faceattr::train
