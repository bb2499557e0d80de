#include "stages/concepts_features.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "data/jpeg.h"
#include "graph/network.h"
#include "image/preprocess.h"
#include "model_def.h"
#include "util/atomic_file.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace faceattr::train::concepts {
namespace mf = faceattr::modelfile;

std::vector<uint8_t> with_feature_output(const std::vector<uint8_t>& model, std::string* layer) {
  mf::ModelDef m = mf::parse(model.data(), model.size());
  int pool = -1;
  for (const auto& n : m.nodes)
    if (n.op == mf::Op::GlobalAvgPool) {
      if (pool >= 0) throw std::runtime_error("anet-concepts: more than one global average pool");
      pool = n.inputs.at(0);
    }
  if (pool < 0)
    throw std::runtime_error("anet-concepts: the model has no global average pool (not an ANet?)");
  if (layer) *layer = m.tensors[static_cast<size_t>(pool)].name;
  m.outputs.push_back(pool);
  // The SDK holds an "anet" to exactly one output; the kind with no output rule lets the
  // same network load with the second one (the graph and its kernels do not depend on kind).
  m.kind = "lnet";
  return mf::serialize(m);
}

namespace {

kernels::Family best_family() {
  for (auto f : {kernels::Family::Xnnpack, kernels::Family::Simd})
    if (kernels::family_available(f)) return f;
  return kernels::Family::Reference;
}

void load_network(Network& net, const std::vector<uint8_t>& model, kernels::Family fam,
                  const kernels::ExecContext& ctx) {
  const Status st = net.load(model.data(), model.size(), fam, ctx);
  if (!st.is_ok()) throw std::runtime_error("SDK refused the model: " + st.message());
}

// Decodes `path` and fills the network input the way the SDK's predict_crop does.
void fill_input(Network& net, const std::string& path) {
  const RgbImage im = decode_jpeg_file(path);
  const auto& m = net.model();
  const faceattr_image img{im.pixels.data(), im.width, im.height, im.width * 3, FACEATTR_PIXEL_RGB};
  const auto box = image::centre_crop_box(
      im.width, im.height, static_cast<float>(m.input_width) / static_cast<float>(m.input_height));
  const Status st =
      image::crop_resize_normalize(img, box, m.input_width, m.input_height, m.mean, m.std, net.input_ptr());
  if (!st.is_ok()) throw std::runtime_error(path + ": " + st.message());
}

void run_network(Network& net) {
  const Status st = net.run();
  if (!st.is_ok()) throw std::runtime_error("SDK run failed: " + st.message());
}

}  // namespace

FeatureSet extract_features(const std::vector<uint8_t>& model, const std::vector<std::string>& paths,
                            int threads) {
  FeatureSet fs;
  kernels::ExecContext ctx;
  Network probe;
  load_network(probe, model, best_family(), ctx);
  const auto& mm = probe.model();
  if (mm.outputs.size() < 2) throw std::runtime_error("extract_features: model without the feature output");
  const auto& ft = mm.tensors[static_cast<size_t>(mm.outputs[1])];
  fs.layer = ft.name;
  fs.grid_h = ft.shape.at(1);
  fs.grid_w = ft.shape.at(2);
  const int64_t U = ft.shape.at(3), cells = static_cast<int64_t>(fs.grid_h) * fs.grid_w;
  const int64_t A = static_cast<int64_t>(probe.output_elements()), N = static_cast<int64_t>(paths.size());
  const bool i8 = ft.dtype == model::DType::I8;
  const float scale = i8 ? ft.scales.at(0) : 1.0f;
  const int32_t zp = i8 ? ft.zero_points.at(0) : 0;
  fs.pooled = torch::zeros({N, U});
  fs.probs = torch::zeros({N, A});
  fs.map_sum = torch::zeros({U, cells}, torch::kDouble);
  float* pooled_base = fs.pooled.data_ptr<float>();
  float* probs_base = fs.probs.data_ptr<float>();
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  auto worker = [&]() {
    try {
      Network net;
      load_network(net, model, best_family(), ctx);
      std::vector<double> maps(static_cast<size_t>(U * cells), 0.0);
      std::vector<float> cell(static_cast<size_t>(U * cells));
      for (int64_t i; (i = next++) < N;) {
        fill_input(net, paths[static_cast<size_t>(i)]);
        run_network(net);
        const void* raw = net.output_data(1);
        for (int64_t c = 0; c < cells; ++c)
          for (int64_t u = 0; u < U; ++u) {
            const int64_t k = c * U + u;  // NHWC
            cell[static_cast<size_t>(u * cells + c)] =
                i8 ? scale * static_cast<float>(static_cast<const int8_t*>(raw)[k] - zp)
                   : static_cast<const float*>(raw)[k];
          }
        float* pooled = pooled_base + i * U;
        for (int64_t u = 0; u < U; ++u) {
          double s = 0;
          for (int64_t c = 0; c < cells; ++c) {
            const float v = cell[static_cast<size_t>(u * cells + c)];
            s += v;
            maps[static_cast<size_t>(u * cells + c)] += v;
          }
          pooled[u] = static_cast<float>(s / static_cast<double>(cells));
        }
        std::memcpy(probs_base + i * A, net.output_ptr(), static_cast<size_t>(A) * sizeof(float));
      }
      std::lock_guard<std::mutex> lock(mu);
      double* dst = fs.map_sum.data_ptr<double>();
      for (size_t k = 0; k < maps.size(); ++k) dst[k] += maps[k];
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      next = N;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return fs;
}

std::vector<float> reference_outputs(const std::vector<uint8_t>& model,
                                     const std::vector<std::string>& paths) {
  kernels::ExecContext ctx;
  Network net;
  load_network(net, model, kernels::Family::Reference, ctx);
  std::vector<float> out;
  for (const auto& p : paths) {
    fill_input(net, p);
    run_network(net);
    out.insert(out.end(), net.output_ptr(), net.output_ptr() + net.output_elements());
  }
  return out;
}

void write_contact_sheet(const std::string& png, const std::vector<std::string>& paths, int cols, int cell_w,
                         int cell_h) {
  const int n = static_cast<int>(paths.size());
  const int rows = std::max(1, (n + cols - 1) / cols);
  const int W = cols * cell_w, H = rows * cell_h;
  std::vector<uint8_t> sheet(static_cast<size_t>(W) * H * 3, 0);
  for (int k = 0; k < n; ++k) {
    const RgbImage im = decode_jpeg_file(paths[static_cast<size_t>(k)]);
    const int ox = (k % cols) * cell_w, oy = (k / cols) * cell_h;
    for (int y = 0; y < cell_h; ++y)
      for (int x = 0; x < cell_w; ++x) {
        const int sx = std::min(im.width - 1, x * im.width / cell_w);
        const int sy = std::min(im.height - 1, y * im.height / cell_h);
        std::memcpy(&sheet[(static_cast<size_t>(oy + y) * W + ox + x) * 3],
                    &im.pixels[(static_cast<size_t>(sy) * im.width + sx) * 3], 3);
      }
  }
  std::string encoded;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &encoded, W, H, 3, sheet.data(), W * 3))
    throw std::runtime_error("cannot encode " + png);
  write_file_atomic(png, encoded);
}

}  // namespace faceattr::train::concepts
