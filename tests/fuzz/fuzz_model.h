// What the model-loader fuzz targets do with one input: load it, read its
// description, and create a session from it (and run one small frame when that
// succeeds: a model that is accepted must also run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

#include "faceattr/faceattr.h"

namespace faceattr::fuzz {

// A small valid ANet (a seed of the model_load corpus) for the LNet slot.
inline const std::vector<uint8_t>& companion_anet() {
  static const std::vector<uint8_t> bytes = [] {
    std::ifstream in(FACEATTR_SOURCE_DIR "/tests/fuzz/corpus/model_load/anet-tiny-int8.fam",
                     std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }();
  return bytes;
}

inline void exercise_model(const uint8_t* data, size_t size) {
  faceattr_model* model = nullptr;
  if (faceattr_model_load(data, size, &model) == FACEATTR_OK) {
    faceattr_model_info info;
    if (faceattr_model_get_info(model, &info) == FACEATTR_OK) {
      for (int32_t i = 0; i < info.n_tensors; ++i) {
        faceattr_tensor_info t;
        (void)faceattr_model_get_tensor(model, i, &t);
      }
      for (int32_t i = 0; i < info.n_nodes; ++i) {
        faceattr_node_info n;
        (void)faceattr_model_get_node(model, i, &n);
      }
    }
    faceattr_model_free(model);
  }
  faceattr_session_params params = faceattr_session_default_params();
  params.backend = FACEATTR_BACKEND_REFERENCE;
  faceattr_session* session = nullptr;
  // As ANet, then as LNet beside a valid ANet.
  const std::vector<uint8_t>& anet = companion_anet();
  for (int as_lnet = 0; as_lnet < 2; ++as_lnet) {
    const faceattr_status st =
        as_lnet ? faceattr_session_create(anet.data(), anet.size(), data, size, &params, &session)
                : faceattr_session_create(data, size, nullptr, 0, &params, &session);
    if (st != FACEATTR_OK) continue;
    std::vector<uint8_t> frame(32 * 24 * 3, 128);
    const faceattr_image img{frame.data(), 32, 24, 32 * 3, FACEATTR_PIXEL_RGB};
    const faceattr_face* faces = nullptr;
    int32_t n_faces = 0;
    (void)faceattr_session_predict(session, &img, &faces, &n_faces);
    faceattr_session_free(session);
    session = nullptr;
  }
}

}  // namespace faceattr::fuzz
