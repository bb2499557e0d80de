// anet-average-maps (see average_maps.h). Each training image goes through the SDK's
// public pipeline (ANet + the localiser, default session parameters, as the CLI runs
// it); the strongest face is explained for every attribute, and each attribute's maps
// are averaged over the faces labelled without it and over those labelled with it.
// Images are taken in the training split's order, so the result does not depend on
// the thread count.
#include "stages/average_maps.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "data/jpeg.h"
#include "engine/splits.h"
#include "faceattr/faceattr.h"
#include "model_def.h"
#include "stages/concepts_features.h"
#include "util/atomic_file.h"

namespace faceattr::train {
namespace mf = faceattr::modelfile;
using nlohmann::json;

namespace {

struct SessionHandle {
  faceattr_session* s = nullptr;
  SessionHandle(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet) {
    faceattr_session_params p = faceattr_session_default_params();
    p.n_threads = 1;
    if (faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &s) != FACEATTR_OK)
      throw std::runtime_error("anet-average-maps: cannot create a session: " +
                               std::string(faceattr_last_error()));
  }
  ~SessionHandle() { faceattr_session_free(s); }
  SessionHandle(const SessionHandle&) = delete;
  SessionHandle& operator=(const SessionHandle&) = delete;
};

// Four decimals: the JSON holds the short form (1.2346, not 1.2345999479293823).
double four_decimals(double v) { return std::round(v * 1e4) / 1e4; }

}  // namespace

void run_anet_average_maps(const Options& o, const AverageMapsArgs& a) {
  const std::vector<uint8_t> anet = mf::read_file(a.model), lnet = mf::read_file(a.lnet);
  const mf::ModelDef def = mf::parse(anet.data(), anet.size());
  const AttributeSplits splits = make_attribute_splits(o);
  if (splits.attribute_names != def.attribute_names)
    throw std::runtime_error("anet-average-maps: the model's attributes are not CelebA's 40 in file order");
  const size_t n_img = a.limit > 0
                           ? std::min<size_t>(splits.train.samples.size(), static_cast<size_t>(a.limit))
                           : splits.train.samples.size();
  if (n_img == 0) throw std::runtime_error("anet-average-maps: the training split has no images");
  const int32_t A = static_cast<int32_t>(def.attribute_names.size());
  std::vector<int32_t> attrs(static_cast<size_t>(A));
  for (int32_t k = 0; k < A; ++k) attrs[static_cast<size_t>(k)] = k;

  // Per image: its maps ([A][cells]) when a face was found; summed in image order below.
  int grid_w = 0, grid_h = 0;
  std::vector<std::vector<float>> maps(n_img);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  auto worker = [&]() {
    try {
      SessionHandle session(anet, lnet);
      std::vector<faceattr_explanation> ex(static_cast<size_t>(A));
      for (size_t i; (i = next++) < n_img;) {
        const RgbImage im = decode_jpeg_file(splits.train.samples[i].path);
        const faceattr_image img{im.pixels.data(), im.width, im.height, im.width * 3, FACEATTR_PIXEL_RGB};
        const faceattr_face* faces = nullptr;
        int32_t n = 0;
        if (faceattr_session_predict(session.s, &img, &faces, &n) != FACEATTR_OK)
          throw std::runtime_error(splits.train.samples[i].path + ": " + faceattr_last_error());
        if (n == 0) continue;
        if (faceattr_session_explain(session.s, 0, attrs.data(), A, ex.data()) != FACEATTR_OK)
          throw std::runtime_error("anet-average-maps: explain failed: " +
                                   std::string(faceattr_last_error()));
        const size_t cells = static_cast<size_t>(ex[0].width) * static_cast<size_t>(ex[0].height);
        std::vector<float> m(static_cast<size_t>(A) * cells);
        for (int32_t k = 0; k < A; ++k)
          std::memcpy(m.data() + static_cast<size_t>(k) * cells, ex[static_cast<size_t>(k)].map,
                      cells * sizeof(float));
        std::lock_guard<std::mutex> lock(mu);
        grid_w = ex[0].width, grid_h = ex[0].height;
        maps[i] = std::move(m);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      next = n_img;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, o.threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  const size_t cells = static_cast<size_t>(grid_w) * static_cast<size_t>(grid_h);
  // [0]: faces labelled without the attribute, [1]: with it.
  std::vector<double> sum[2] = {std::vector<double>(static_cast<size_t>(A) * cells, 0.0),
                                std::vector<double>(static_cast<size_t>(A) * cells, 0.0)};
  std::vector<size_t> count[2] = {std::vector<size_t>(static_cast<size_t>(A), 0),
                                  std::vector<size_t>(static_cast<size_t>(A), 0)};
  size_t faces = 0;
  for (size_t i = 0; i < n_img; ++i) {
    const auto& m = maps[i];
    if (m.empty()) continue;
    ++faces;
    const auto& y = splits.train.samples[i].attrs;
    for (size_t a = 0; a < static_cast<size_t>(A); ++a) {
      const int with = y[a] > 0.5f ? 1 : 0;
      ++count[with][a];
      for (size_t c = 0; c < cells; ++c) sum[with][a * cells + c] += m[a * cells + c];
    }
  }
  if (faces == 0) throw std::runtime_error("anet-average-maps: the localiser found no face in any image");
  const auto average = [&](int with, size_t k) {
    std::vector<double> v(cells);
    for (size_t c = 0; c < cells; ++c)
      v[c] = four_decimals(sum[with][k * cells + c] / static_cast<double>(count[with][k]));
    return v;
  };
  json per = json::object(), without = json::object(), per_with = json::object(), with = json::object();
  for (int32_t k = 0; k < A; ++k) {
    const size_t a = static_cast<size_t>(k);
    const std::string& name = def.attribute_names[a];
    if (count[0][a] == 0)
      throw std::runtime_error("anet-average-maps: every training face found is labelled " + name +
                               ": no face to average without it");
    without[name] = count[0][a];
    per[name] = average(0, a);
    if (count[1][a] == 0) continue;  // no face with it: the SDK measures every peak against `maps`
    with[name] = count[1][a];
    per_with[name] = average(1, a);
  }
  std::fprintf(stderr, "[average-maps] %s: %zu of %zu training images had a face; grid %d x %d\n",
               a.model.c_str(), faces, n_img, grid_w, grid_h);
  if (a.out.empty()) return;

  const json meta = {{"width", grid_w},
                     {"height", grid_h},
                     {"faces", faces},
                     {"faces_without", without},
                     {"faces_with", with},
                     {"source", "CelebA training split, faces framed by " +
                                    std::filesystem::path(a.lnet).filename().string()},
                     {"maps", per},
                     {"maps_with", per_with}};
  mf::ModelDef out = def;
  out.metadata.erase(std::remove_if(out.metadata.begin(), out.metadata.end(),
                                    [](const auto& kv) { return kv.first == "explain.average_maps"; }),
                     out.metadata.end());
  out.metadata.push_back({"explain.average_maps", meta.dump()});
  const std::vector<uint8_t> out_bytes = mf::serialize(out);
  // The metadata never changes the network: the same outputs on some validation images.
  std::vector<std::string> check;
  for (size_t i = 0; i < splits.val.samples.size() && check.size() < 64; ++i)
    check.push_back(splits.val.samples[i].path);
  const auto before = concepts::reference_outputs(anet, check),
             after = concepts::reference_outputs(out_bytes, check);
  if (before.size() != after.size() ||
      std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) != 0)
    throw std::runtime_error("anet-average-maps: the copy with metadata predicts differently");
  write_file_atomic(a.out, as_bytes(out_bytes), "export");
  std::fprintf(stderr, "[average-maps] wrote %s (outputs bit-identical on %zu images)\n", a.out.c_str(),
               check.size());
}

}  // namespace faceattr::train
