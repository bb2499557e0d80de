// libFuzzer target: faceattr_session_predict (and predict_crop) over fuzzed frames,
// with the shipped models/anet-int8.fam + models/lnet-int8.fam loaded once.
// Input: byte 0 picks the pixel format (bits 0-1), the session (bit 2: the
// localiser, else whole-image mode) and a null data pointer (bit 3); bytes 1-2
// and 3-4 the width and height (little-endian, taken mod 257: 0-256, so that
// odd, 0 and 1 come up); byte 5 the stride rule (exact, padded, too short, zero,
// negative) and byte 6 its amount; the rest are the pixels (repeated to fill
// the frame). The buffer handed over holds exactly what a valid (width, height,
// stride) may read, so ASan reports any read past what the arguments allow.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "faceattr/faceattr.h"

namespace {

std::vector<uint8_t> read_model(const char* name) {
  const std::string path = std::string(FACEATTR_SOURCE_DIR "/models/") + name;
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), {});
  if (b.empty()) {
    std::fprintf(stderr, "fuzz_session_predict: cannot read %s\n", path.c_str());
    std::abort();
  }
  return b;
}

struct Sessions {
  faceattr_session* localise = nullptr;
  faceattr_session* whole = nullptr;
  Sessions() {
    const std::vector<uint8_t> anet = read_model("anet-int8.fam"), lnet = read_model("lnet-int8.fam");
    faceattr_session_params p = faceattr_session_default_params();
    p.min_face_size = 8;
    if (faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &localise) !=
        FACEATTR_OK)
      std::abort();
    p.localize = 0;
    if (faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &whole) !=
        FACEATTR_OK)
      std::abort();
  }
};

int channels(faceattr_pixel_format f) { return f == FACEATTR_PIXEL_RGBA || f == FACEATTR_PIXEL_BGRA ? 4 : 3; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Sessions sessions;
  if (size < 7) return 0;
  const auto format = static_cast<faceattr_pixel_format>(data[0] & 3);
  faceattr_session* session = (data[0] & 4) ? sessions.localise : sessions.whole;
  const bool null_data = (data[0] & 8) != 0;
  const int w = (data[1] | data[2] << 8) % 257, h = (data[3] | data[4] << 8) % 257;
  const int row = w * channels(format);
  int stride = row;
  switch (data[5] % 5) {
    case 0:
      break;
    case 1:
      stride = row + data[6];
      break;
    case 2:
      stride = row - 1 - data[6] % std::max(1, row);
      break;
    case 3:
      stride = 0;
      break;
    default:
      stride = -1 - data[6];
      break;
  }
  const uint8_t* px = data + 7;
  const size_t n_px = size - 7;
  // What a valid frame with these arguments may read: (h - 1) strides plus one row.
  size_t bytes = 0;
  if (w > 0 && h > 0 && stride >= row)
    bytes = static_cast<size_t>(h - 1) * stride + row;
  else if (w > 0 && h > 0 && stride > 0)
    bytes = static_cast<size_t>(h) * stride;  // invalid: what there is
  std::vector<uint8_t> frame(bytes);
  for (size_t i = 0; i < bytes; ++i) frame[i] = n_px ? px[i % n_px] : static_cast<uint8_t>(i * 31);
  const faceattr_image img{null_data ? nullptr : frame.data(), w, h, stride, format};
  const faceattr_face* faces = nullptr;
  int32_t n_faces = -1;
  const faceattr_status st = faceattr_session_predict(session, &img, &faces, &n_faces);
  if (st == FACEATTR_OK) {
    const int32_t n_attr = faceattr_session_n_attributes(session);
    if (n_faces < 0 || (n_faces > 0 && !faces)) std::abort();
    for (int32_t i = 0; i < n_faces; ++i) {
      for (int32_t a = 0; a < n_attr; ++a) {
        const float p = faces[i].probs[a];
        if (!(p >= 0.0f && p <= 1.0f)) std::abort();  // also catches NaN
      }
    }
    if (stride < row || null_data) std::abort();  // accepted a frame it must refuse
  }
  if (data[0] & 16) {
    std::vector<float> probs(static_cast<size_t>(faceattr_session_n_attributes(session)));
    (void)faceattr_session_predict_crop(session, &img, probs.data());
  }
  return 0;
}
