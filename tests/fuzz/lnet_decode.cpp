// libFuzzer target: the LNet box decoder (sdk/src/pipeline/lnet_decode.*) over
// fuzzed response maps. Bytes 0-19 set the decoder parameters, each within the
// range validate_decode_params accepts (its ends included); bytes 20-27 the map
// size (0-48 cells a side), the cell size, max_faces, min_side and the number of
// maps (passes) handed over; the rest are the map values, one byte each: 0-250
// is 0-1, and 251-255 are -1, 1e30, -inf, +inf and NaN.
#include "pipeline/lnet_decode.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

using faceattr::pipeline::DecodeParams;
using faceattr::pipeline::Decoder;
using faceattr::pipeline::FaceBox;

namespace {

float in_range(uint8_t b, float lo, float hi) {
  if (b == 0) return lo;
  if (b == 255) return hi;
  return lo + (hi - lo) * static_cast<float>(b) / 255.0f;
}

float map_value(uint8_t b) {
  switch (b) {
    case 251:
      return -1.0f;
    case 252:
      return 1e30f;
    case 253:
      return -std::numeric_limits<float>::infinity();
    case 254:
      return std::numeric_limits<float>::infinity();
    case 255:
      return std::numeric_limits<float>::quiet_NaN();
    default:
      return static_cast<float>(b) / 250.0f;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 28) return 0;
  const uint8_t* q = data;
  DecodeParams p;
  p.threshold = in_range(q[0], 0.001f, 1.0f);
  p.region_fraction = in_range(q[1], 0.001f, 1.0f);
  p.box_scale = in_range(q[2], 0.01f, 100.0f);
  p.box_aspect = in_range(q[3], 0.1f, 10.0f);
  p.nms_iou = in_range(q[4], 0.0f, 1.0f);
  p.half_threshold = q[5] & 1 ? in_range(q[5], 0.0f, 1.0f) : 0.0f;
  p.half_box_scale = in_range(q[6], 0.0f, 100.0f);
  p.size_bias = q[7] & 1 ? in_range(q[7], 0.0f, 20.0f) : 0.0f;
  p.size_w1 = in_range(q[8], -10.0f, 10.0f);
  p.size_w2 = in_range(q[9], -10.0f, 10.0f);
  p.pyramid_levels = static_cast<float>(q[10] % 9);
  p.pyramid_factor = in_range(q[11], 1.05f, 4.0f);
  p.pyramid_side = in_range(q[12], 0.0f, 1000.0f);
  p.dense = static_cast<float>(q[13] & 1);
  p.offset_range = in_range(q[14], 0.001f, 8.0f);
  p.box_min = in_range(q[15], 0.001f, 10000.0f);
  p.box_max = in_range(q[16], 0.001f, 10000.0f);
  p.crop_w = q[17] & 1 ? in_range(q[17], 0.01f, 10.0f) : 0.0f;
  p.crop_h = p.crop_w > 0.0f ? in_range(q[18], 0.01f, 10.0f) : 0.0f;
  p.crop_dy = in_range(q[19], -2.0f, 2.0f);
  // The cross-field rules: box_max > box_min, a pyramid has a side.
  if (!(p.box_max > p.box_min)) std::swap(p.box_min, p.box_max);
  if (!(p.box_max > p.box_min)) p.box_min *= 0.5f;
  if (p.pyramid_levels >= 2.0f && !(p.pyramid_side > 0.0f)) p.pyramid_side = 1.0f;
  if (const auto st = faceattr::pipeline::validate_decode_params(p); !st.is_ok()) {
    std::fprintf(stderr, "parameters outside their ranges: %s\n", st.message().c_str());
    std::abort();
  }

  const int map_h = q[20] % 49, map_w = q[21] % 49;
  const float cell_w = static_cast<float>(q[22] % 17), cell_h = static_cast<float>(q[23] % 17);
  const int max_faces = q[24] % 41;
  const float min_side = static_cast<float>(q[25] % 65);
  const int n_maps = q[26] % 9;
  const bool single = q[27] & 1;  // decode() with an optional coarse map, else decode_passes()
  const uint8_t* values = data + 28;
  const size_t n_values = size - 28;

  Decoder dec(p, map_h, map_w, cell_w, cell_h, max_faces);
  const size_t per_map = static_cast<size_t>(map_h) * map_w * p.channels();
  std::vector<std::vector<float>> maps(std::max(1, n_maps), std::vector<float>(per_map));
  size_t k = 0;
  for (auto& m : maps)
    for (float& v : m) v = n_values ? map_value(values[k++ % n_values]) : 0.0f;
  std::vector<FaceBox> out(static_cast<size_t>(max_faces));
  int found = 0;
  if (single) {
    found = dec.decode(maps[0].data(), min_side, out.data(), n_maps >= 2 ? maps[1].data() : nullptr);
  } else {
    const float* ptrs[8];
    float rx[8], ry[8];
    for (int i = 0; i < n_maps; ++i) {
      ptrs[i] = maps[static_cast<size_t>(i)].data();
      rx[i] = ry[i] = dec.pass_shrink(i);
    }
    found = dec.decode_passes(ptrs, rx, ry, n_maps, min_side, out.data());
  }
  if (found < 0 || found > max_faces) std::abort();
  return 0;
}
