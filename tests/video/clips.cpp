#include "clips.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <stdexcept>
#include <tuple>

namespace faceattr::clips {

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Placement {
  int person = 0;
  int x = 0, y = 0, w = 0, h = 0;
};

// Halves by 2x2 averaging while the image is at least twice the target, then
// samples bilinearly (pixel centres aligned), so downscaled faces do not alias.
Image resize(const Image& src, int w, int h) {
  Image cur = src;
  while (cur.width >= 2 * w && cur.height >= 2 * h) {
    Image half;
    half.width = cur.width / 2;
    half.height = cur.height / 2;
    half.rgb.resize(static_cast<size_t>(half.width) * half.height * 3);
    for (int y = 0; y < half.height; ++y) {
      for (int x = 0; x < half.width; ++x) {
        for (int c = 0; c < 3; ++c) {
          const auto at = [&](int xx, int yy) {
            return cur.rgb[(static_cast<size_t>(yy) * cur.width + xx) * 3 + c];
          };
          half.rgb[(static_cast<size_t>(y) * half.width + x) * 3 + c] =
              static_cast<uint8_t>((at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) +
                                    at(2 * x + 1, 2 * y + 1) + 2) /
                                   4);
        }
      }
    }
    cur = std::move(half);
  }
  Image out;
  out.width = w;
  out.height = h;
  out.rgb.resize(static_cast<size_t>(w) * h * 3);
  const float sx = static_cast<float>(cur.width) / w, sy = static_cast<float>(cur.height) / h;
  for (int y = 0; y < h; ++y) {
    const float fy = std::clamp((y + 0.5f) * sy - 0.5f, 0.0f, cur.height - 1.0f);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, cur.height - 1);
    const float wy = fy - y0;
    for (int x = 0; x < w; ++x) {
      const float fx = std::clamp((x + 0.5f) * sx - 0.5f, 0.0f, cur.width - 1.0f);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, cur.width - 1);
      const float wx = fx - x0;
      for (int c = 0; c < 3; ++c) {
        const auto at = [&](int xx, int yy) {
          return static_cast<float>(cur.rgb[(static_cast<size_t>(yy) * cur.width + xx) * 3 + c]);
        };
        const float top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * wx;
        const float bot = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * wx;
        out.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] =
            static_cast<uint8_t>(std::lround(top + (bot - top) * wy));
      }
    }
  }
  return out;
}

// The frame's background as floats: the photo scaled to cover the frame (centre
// crop), or a grey with a soft pattern and fixed grain.
std::vector<float> make_background(const Image& photo, int w, int h, std::mt19937& rng) {
  std::vector<float> bg(static_cast<size_t>(w) * h * 3);
  if (!photo.rgb.empty() && photo.width > 0 && photo.height > 0) {
    const double scale =
        std::max(static_cast<double>(w) / photo.width, static_cast<double>(h) / photo.height);
    const int sw = std::max(w, static_cast<int>(std::ceil(photo.width * scale)));
    const int sh = std::max(h, static_cast<int>(std::ceil(photo.height * scale)));
    const Image scaled = resize(photo, sw, sh);
    const int ox = (sw - w) / 2, oy = (sh - h) / 2;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) {
          bg[(static_cast<size_t>(y) * w + x) * 3 + c] =
              scaled.rgb[(static_cast<size_t>(y + oy) * sw + x + ox) * 3 + c];
        }
      }
    }
    return bg;
  }
  std::uniform_real_distribution<float> grain(-6.0f, 6.0f);
  const float tint[3] = {1.0f, 0.97f, 0.93f};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const float pattern =
          18.0f * std::sin(x * 0.045f) * std::cos(y * 0.06f) + 10.0f * std::sin((x + y) * 0.013f);
      const float g = grain(rng);
      for (int c = 0; c < 3; ++c)
        bg[(static_cast<size_t>(y) * w + x) * 3 + c] = (120.0f + pattern + g) * tint[c];
    }
  }
  return bg;
}

// Pastes `face` (already w x h) at (x, y) with an edge feathered over ~6% of its size.
void paste(std::vector<float>& frame, int fw, int fh, const Image& face, int x, int y) {
  const float feather = std::max(1.0f, 0.06f * std::min(face.width, face.height));
  for (int py = 0; py < face.height; ++py) {
    const int yy = y + py;
    if (yy < 0 || yy >= fh) continue;
    for (int px = 0; px < face.width; ++px) {
      const int xx = x + px;
      if (xx < 0 || xx >= fw) continue;
      const float d = std::min({px + 0.5f, face.width - px - 0.5f, py + 0.5f, face.height - py - 0.5f});
      const float a = std::min(1.0f, d / feather);
      float* dst = &frame[(static_cast<size_t>(yy) * fw + xx) * 3];
      const uint8_t* src = &face.rgb[(static_cast<size_t>(py) * face.width + px) * 3];
      for (int c = 0; c < 3; ++c) dst[c] += (src[c] - dst[c]) * a;
    }
  }
}

int face_width(const Image& face, int h) {
  return std::max(1, static_cast<int>(std::lround(static_cast<double>(h) * face.width / face.height)));
}

float visible_fraction(const Placement& p, int w, int h) {
  const int x0 = std::max(0, p.x), y0 = std::max(0, p.y);
  const int x1 = std::min(w, p.x + p.w), y1 = std::min(h, p.y + p.h);
  if (x1 <= x0 || y1 <= y0) return 0.0f;
  return static_cast<float>(x1 - x0) * (y1 - y0) / (static_cast<float>(p.w) * p.h);
}

int lerp_int(double a, double b, double t) { return static_cast<int>(std::lround(a + (b - a) * t)); }

// Where each face is on frame i, and the frame's gain and noise.
struct Plan {
  std::vector<std::vector<Placement>> faces;
  std::vector<float> gain;
  float noise_sigma = 2.0f;
};

Plan plan_clip(Kind kind, const std::vector<Image>& faces, int n, int W, int H, std::mt19937& rng) {
  Plan plan;
  plan.faces.resize(static_cast<size_t>(n));
  plan.gain.assign(static_cast<size_t>(n), 1.0f);
  const double s = H / 240.0;
  const int h0 = static_cast<int>(std::lround(80 * s));
  const int w0 = face_width(faces[0], h0);
  const int cx = (W - w0) / 2, cy = (H - h0) / 2;
  const auto t_of = [n](int i) { return n > 1 ? static_cast<double>(i) / (n - 1) : 0.0; };
  for (int i = 0; i < n; ++i) {
    auto& f = plan.faces[static_cast<size_t>(i)];
    const double t = t_of(i);
    switch (kind) {
      case Kind::Still:
      case Kind::Noise:
      case Kind::Brightness:
        f.push_back({0, cx, cy, w0, h0});
        break;
      case Kind::Pan: {
        const int margin = static_cast<int>(4 * s);
        f.push_back({0, lerp_int(margin, W - w0 - margin, t), cy, w0, h0});
        break;
      }
      case Kind::Zoom: {
        const double hz = (50 + 80 * (0.5 - 0.5 * std::cos(2 * kPi * t))) * s;
        const int hh = static_cast<int>(std::lround(hz)), ww = face_width(faces[0], hh);
        f.push_back({0, (W - ww) / 2, (H - hh) / 2, ww, hh});
        break;
      }
      case Kind::Jitter: {
        std::uniform_int_distribution<int> shake(-3, 3);
        const int dx = shake(rng), dy = shake(rng);
        f.push_back({0, cx + dx, cy + dy, w0, h0});
        break;
      }
      case Kind::Cross: {
        const int margin = static_cast<int>(std::lround(12 * s));
        int hc = static_cast<int>(std::lround(72 * s));
        // Keep the vertical gap between the two bands above 20% of the wider face.
        while (hc > 8 && H - 2 * hc - 2 * margin <
                             0.2 * std::max(face_width(faces[0], hc), face_width(faces[1], hc)) + 2) {
          --hc;
        }
        const int wa = face_width(faces[0], hc), wb = face_width(faces[1], hc);
        const int m = static_cast<int>(4 * s);
        f.push_back({0, lerp_int(m, W - wa - m, t), margin, wa, hc});
        f.push_back({1, lerp_int(W - wb - m, m, t), H - hc - margin, wb, hc});
        break;
      }
      case Kind::LeaveReturn: {
        const int out = std::min(15, n / 4);
        const int walk = n - out, exit = std::max(1, walk / 2), back = std::max(1, walk - exit);
        int x;
        if (i < exit) {
          x = exit > 1 ? lerp_int(cx, W, static_cast<double>(i) / (exit - 1))
                       : W;  // last exit frame: outside
        } else if (i < exit + out) {
          x = W;
        } else {
          x = lerp_int(W, cx, static_cast<double>(i - exit - out + 1) / back);
        }
        f.push_back({0, x, cy, w0, h0});
        break;
      }
      case Kind::Swap:
        f.push_back({i < n / 2 ? 0 : 1, cx, cy, w0, h0});
        break;
    }
    if (kind == Kind::Brightness) {
      const int half = n / 2;
      if (i < half) {
        plan.gain[static_cast<size_t>(i)] =
            static_cast<float>(0.5 + 0.9 * (half > 1 ? static_cast<double>(i) / (half - 1) : 1.0));
      } else {
        plan.gain[static_cast<size_t>(i)] = ((i - half) / 15) % 2 == 0 ? 0.7f : 1.3f;
      }
    }
  }
  plan.noise_sigma = kind == Kind::Noise ? 25.0f : 2.0f;
  return plan;
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Still:
      return "still";
    case Kind::Pan:
      return "pan";
    case Kind::Zoom:
      return "zoom";
    case Kind::Jitter:
      return "jitter";
    case Kind::Noise:
      return "noise";
    case Kind::Brightness:
      return "brightness";
    case Kind::Cross:
      return "cross";
    case Kind::LeaveReturn:
      return "leave-return";
    case Kind::Swap:
      return "swap";
  }
  return "?";
}

std::vector<Kind> all_kinds() {
  return {Kind::Still,      Kind::Pan,   Kind::Zoom,        Kind::Jitter, Kind::Noise,
          Kind::Brightness, Kind::Cross, Kind::LeaveReturn, Kind::Swap};
}

bool kind_from_name(const std::string& name, Kind* out) {
  for (Kind k : all_kinds()) {
    if (name == kind_name(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

int persons_needed(Kind k) { return k == Kind::Cross || k == Kind::Swap ? 2 : 1; }

Clip make_clip(Kind kind, const std::vector<Image>& faces, const Image& background, uint32_t seed,
               int n_frames, int width, int height) {
  if (static_cast<int>(faces.size()) < persons_needed(kind)) {
    throw std::invalid_argument(std::string("clip kind '") + kind_name(kind) + "' needs " +
                                std::to_string(persons_needed(kind)) + " faces");
  }
  for (const Image& f : faces) {
    if (f.width <= 0 || f.height <= 0 || f.rgb.size() != static_cast<size_t>(f.width) * f.height * 3) {
      throw std::invalid_argument("make_clip: an empty or malformed face image");
    }
  }
  if (n_frames < 2) throw std::invalid_argument("make_clip: n_frames must be at least 2");
  if (width < 64 || height < 48) throw std::invalid_argument("make_clip: the frame must be at least 64x48");

  std::mt19937 rng(seed * 2654435761u + static_cast<uint32_t>(kind));
  Clip clip;
  clip.name = std::string(kind_name(kind)) + "-seed" + std::to_string(seed);
  clip.width = width;
  clip.height = height;
  const std::vector<float> bg = make_background(background, width, height, rng);
  const Plan plan = plan_clip(kind, faces, n_frames, width, height, rng);

  std::map<std::tuple<int, int, int>, Image> scaled;  // (person, w, h) -> the crop at that size
  std::normal_distribution<float> noise(0.0f, plan.noise_sigma);
  std::vector<float> buf;
  clip.frames.resize(static_cast<size_t>(n_frames));
  for (int i = 0; i < n_frames; ++i) {
    Frame& fr = clip.frames[static_cast<size_t>(i)];
    fr.time_ms = i * 1000.0 / clip.fps;
    buf = bg;
    for (const Placement& p : plan.faces[static_cast<size_t>(i)]) {
      const float vis = visible_fraction(p, width, height);
      if (vis <= 0) continue;
      auto key = std::make_tuple(p.person, p.w, p.h);
      auto it = scaled.find(key);
      if (it == scaled.end())
        it = scaled.emplace(key, resize(faces[static_cast<size_t>(p.person)], p.w, p.h)).first;
      paste(buf, width, height, it->second, p.x, p.y);
      FaceTruth t;
      t.person = p.person;
      t.box[0] = static_cast<float>(p.x);
      t.box[1] = static_cast<float>(p.y);
      t.box[2] = static_cast<float>(p.w);
      t.box[3] = static_cast<float>(p.h);
      t.visible = vis;
      fr.faces.push_back(t);
    }
    const float gain = plan.gain[static_cast<size_t>(i)];
    fr.rgb.resize(buf.size());
    for (size_t k = 0; k < buf.size(); ++k) {
      const float v = buf[k] * gain + noise(rng);
      fr.rgb[k] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return clip;
}

// --- data folder ----------------------------------------------------------------

std::string default_data_dir() {
  const char* env = std::getenv("FACEATTR_DATA_DIR");
  if (env != nullptr && *env != '\0') return env;
#ifdef FACEATTR_CLIPS_DATA_DIR
  return FACEATTR_CLIPS_DATA_DIR;
#else
  return "../shared/data";
#endif
}

namespace {

std::vector<std::string> sorted_files(const std::string& dir, const std::string& ext) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ext) files.push_back(e.path().string());
  }
  if (ec) throw std::runtime_error("cannot list '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no " + ext + " files in '" + dir + "'");
  return files;
}

}  // namespace

std::vector<Image> load_faces(const std::string& data_dir, int n, uint32_t seed) {
  const std::vector<std::string> files = sorted_files(data_dir + "/celeba/test_crops", ".jpg");
  if (n < 0 || static_cast<size_t>(n) > files.size()) {
    throw std::runtime_error("load_faces: " + std::to_string(n) + " faces asked, " +
                             std::to_string(files.size()) + " available");
  }
  std::vector<size_t> order(files.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (seed != 0) {
    std::mt19937 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
  }
  std::vector<Image> faces;
  for (int i = 0; i < n; ++i) faces.push_back(load_image(files[order[static_cast<size_t>(i)]]));
  return faces;
}

Image load_background(const std::string& data_dir, uint32_t seed) {
  const std::vector<std::string> files = sorted_files(data_dir + "/objects", ".jpg");
  std::mt19937 rng(seed);
  return load_image(files[rng() % files.size()]);
}

Clip make_clip_from_data(Kind kind, const std::string& data_dir, uint32_t seed, int n_frames, int width,
                         int height, bool photo_background, uint32_t face_seed) {
  const std::vector<Image> faces = load_faces(data_dir, persons_needed(kind), face_seed);
  const Image bg = photo_background ? load_background(data_dir, seed) : Image{};
  return make_clip(kind, faces, bg, seed, n_frames, width, height);
}

}  // namespace faceattr::clips
