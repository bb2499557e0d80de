// Native soak: many predicts through the public C API on one session (ANet +
// the LNet localiser, localising on), on frames of varied sizes, aspect ratios
// and pixel formats, watching the process's resident set size (RSS).
//
//   faceattr_soak_native --anet models/anet-int8.fam --lnet models/lnet-int8.fam
//                        [--predicts 100000] [--every 1000] [--threads 1]
//                        [--max-drift-kb 1024]
//
// Frames: a fixed set, generated once before the session is created (seeded, so
// every run sees the same pixels): 12 sizes from 32x32 to 640x480 (landscape,
// portrait, square, 4:1 and 1:4 strips), each in the four pixel formats, about
// one in three with row padding in the stride, with zero to three drawn faces
// (a skin-toned ellipse with hair, eyes, brows, nose and mouth) on a gradient
// with noise. Predict k uses frame k mod the set size; after a predict with a
// face, every seventh one also explains three attributes of face 0 and reads the
// response map (both allocate nothing, as predict).
//
// Warm-up: two passes over the whole frame set (every size and format, so the
// largest frame, 640x480 RGBA, and the most faces per frame have run before the
// baseline). The baseline is the RSS right after warm-up; then the RSS is read
// (current, from /proc/self/statm) every --every predicts and after the last.
// Prints RSS after warm-up, min, max, final, the drift (max and final minus the
// baseline, KB), predicts/s and the faces found. Exits 1 when the RSS ever rises
// more than --max-drift-kb (default 1024, i.e. 1 MB) above the baseline, 2 on a
// usage or SDK error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace {

struct Options {
  std::string anet, lnet;
  long predicts = 100000;
  long every = 1000;
  int threads = 1;
  long max_drift_kb = 1024;
};

struct Frame {
  std::vector<uint8_t> pixels;
  faceattr_image image{};
  int faces_drawn = 0;
};

// Current resident set size in KB (/proc/self/statm: size resident shared ...), -1 on error.
long rss_kb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// xorshift32: the frames' noise and face placement, the same on every run.
struct Rng {
  uint32_t s;
  uint32_t next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
  float uniform() { return static_cast<float>(next() >> 8) / 16777216.0f; }
};

int channels(faceattr_pixel_format f) { return f == FACEATTR_PIXEL_RGBA || f == FACEATTR_PIXEL_BGRA ? 4 : 3; }

void put(Frame* fr, int x, int y, const float rgb[3]) {
  const faceattr_image& im = fr->image;
  if (x < 0 || y < 0 || x >= im.width || y >= im.height) return;
  uint8_t* p = fr->pixels.data() + static_cast<size_t>(y) * im.stride_bytes +
               static_cast<size_t>(x) * channels(im.format);
  const bool bgr = im.format == FACEATTR_PIXEL_BGR || im.format == FACEATTR_PIXEL_BGRA;
  for (int c = 0; c < 3; ++c) {
    const float v = std::min(255.0f, std::max(0.0f, rgb[bgr ? 2 - c : c]));
    p[c] = static_cast<uint8_t>(std::lround(v));
  }
}

// Fills the ellipse centred at (cx, cy) with radii (rx, ry).
void ellipse(Frame* fr, float cx, float cy, float rx, float ry, const float rgb[3]) {
  if (rx <= 0 || ry <= 0) return;
  for (int y = static_cast<int>(std::floor(cy - ry)); y <= static_cast<int>(std::ceil(cy + ry)); ++y) {
    for (int x = static_cast<int>(std::floor(cx - rx)); x <= static_cast<int>(std::ceil(cx + rx)); ++x) {
      const float dx = (static_cast<float>(x) + 0.5f - cx) / rx;
      const float dy = (static_cast<float>(y) + 0.5f - cy) / ry;
      if (dx * dx + dy * dy <= 1.0f) put(fr, x, y, rgb);
    }
  }
}

// A frontal face drawn with ellipses: face height h, centre (cx, cy).
void draw_face(Frame* fr, float cx, float cy, float h, Rng* rng) {
  const float tone = 0.85f + 0.3f * rng->uniform();
  const float skin[3] = {215 * tone, 165 * tone, 135 * tone};
  const float hair[3] = {60 * tone, 40 * tone, 30 * tone};
  const float white[3] = {235, 235, 230};
  const float dark[3] = {35, 30, 30};
  const float lips[3] = {170, 80, 80};
  const float shade[3] = {190 * tone, 140 * tone, 115 * tone};
  const float w = 0.78f * h;
  ellipse(fr, cx, cy - 0.12f * h, 0.56f * w, 0.52f * h, hair);  // hair behind the face
  ellipse(fr, cx, cy, 0.5f * w, 0.5f * h, skin);
  for (const float side : {-1.0f, 1.0f}) {
    const float ex = cx + side * 0.2f * w;
    const float ey = cy - 0.08f * h;
    ellipse(fr, ex, ey - 0.1f * h, 0.12f * w, 0.025f * h, hair);  // brow
    ellipse(fr, ex, ey, 0.1f * w, 0.045f * h, white);
    ellipse(fr, ex, ey, 0.045f * w, 0.04f * h, dark);
  }
  ellipse(fr, cx, cy + 0.08f * h, 0.06f * w, 0.1f * h, shade);  // nose
  ellipse(fr, cx, cy + 0.26f * h, 0.2f * w, 0.045f * h, lips);
}

Frame make_frame(int width, int height, faceattr_pixel_format format, int pad, int n_faces, uint32_t seed) {
  Frame fr;
  const int ch = channels(format);
  const int stride = width * ch + pad;
  fr.pixels.assign(static_cast<size_t>(stride) * static_cast<size_t>(height), 0);
  fr.image = faceattr_image{fr.pixels.data(), width, height, stride, format};
  Rng rng{seed};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float noise = static_cast<float>(rng.next() >> 27);  // 0..31
      const float rgb[3] = {60.0f + 120.0f * static_cast<float>(x) / static_cast<float>(width) + noise,
                            110.0f + noise,
                            90.0f + 100.0f * static_cast<float>(y) / static_cast<float>(height)};
      put(&fr, x, y, rgb);
    }
  }
  // Faces side by side along the longer side, each as tall as the frame allows.
  const bool wide = width >= height;
  const float along = static_cast<float>(wide ? width : height);
  const float across = static_cast<float>(wide ? height : width);
  for (int k = 0; k < n_faces; ++k) {
    const float slot = along / static_cast<float>(n_faces);
    const float h = std::min(0.75f * across, 0.9f * slot / 0.78f) * (0.7f + 0.3f * rng.uniform());
    const float a = slot * (static_cast<float>(k) + 0.5f);
    const float b = across * (0.4f + 0.2f * rng.uniform());
    draw_face(&fr, wide ? a : b, wide ? b : a, h, &rng);
  }
  fr.faces_drawn = n_faces;
  return fr;
}

std::vector<Frame> make_frames() {
  // width, height, faces drawn: 32x32 up to 640x480, landscape, portrait and strips.
  const int sizes[][3] = {{32, 32, 0},   {48, 64, 1},   {64, 48, 1},   {96, 96, 1},
                          {160, 40, 0},  {40, 160, 1},  {160, 120, 1}, {120, 160, 2},
                          {320, 240, 2}, {200, 200, 1}, {480, 360, 3}, {640, 480, 3}};
  const faceattr_pixel_format formats[] = {FACEATTR_PIXEL_RGB, FACEATTR_PIXEL_RGBA, FACEATTR_PIXEL_BGR,
                                           FACEATTR_PIXEL_BGRA};
  std::vector<Frame> frames;
  uint32_t seed = 12345;
  for (const auto& s : sizes) {
    for (const faceattr_pixel_format f : formats) {
      const int pad = (seed % 3 == 0) ? 4 + static_cast<int>(seed % 29) : 0;
      frames.push_back(make_frame(s[0], s[1], f, pad, s[2], seed));
      seed = seed * 1664525u + 1013904223u;
    }
  }
  return frames;
}

bool parse_long(const char* s, long* out) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0') return false;
  *out = v;
  return true;
}

int usage(const char* msg) {
  std::fprintf(
      stderr,
      "soak_native: %s\nusage: faceattr_soak_native --anet FILE --lnet FILE [--predicts N] [--every K] "
      "[--threads T] [--max-drift-kb KB]\n",
      msg);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    long n = 0;
    if (a == "--anet") {
      o.anet = v;
    } else if (a == "--lnet") {
      o.lnet = v;
    } else if (a == "--predicts" && parse_long(v, &n) && n > 0) {
      o.predicts = n;
    } else if (a == "--every" && parse_long(v, &n) && n > 0) {
      o.every = n;
    } else if (a == "--threads" && parse_long(v, &n) && n > 0 && n <= 64) {
      o.threads = static_cast<int>(n);
    } else if (a == "--max-drift-kb" && parse_long(v, &n) && n >= 0) {
      o.max_drift_kb = n;
    } else {
      return usage(("bad argument " + a + " " + v).c_str());
    }
  }
  if (o.anet.empty() || o.lnet.empty()) return usage("--anet and --lnet are required");
  if (rss_kb() < 0) return usage("cannot read /proc/self/statm");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up under ctest too

  std::vector<uint8_t> anet, lnet;
  if (!read_file(o.anet, &anet)) return usage(("cannot read " + o.anet).c_str());
  if (!read_file(o.lnet, &lnet)) return usage(("cannot read " + o.lnet).c_str());
  const std::vector<Frame> frames = make_frames();

  faceattr_session_params params = faceattr_session_default_params();
  params.n_threads = o.threads;
  params.localize = 1;
  faceattr_session* s = nullptr;
  if (faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &params, &s) !=
      FACEATTR_OK) {
    std::fprintf(stderr, "soak_native: cannot create the session: %s\n", faceattr_last_error());
    return 2;
  }
  std::vector<uint8_t>().swap(anet);  // the session keeps what it needs
  std::vector<uint8_t>().swap(lnet);

  const int32_t explain_attrs[3] = {0, 20, 31};
  faceattr_explanation explanations[3];
  long faces_total = 0, frames_with_faces = 0, explains = 0;
  // One predict (plus, after every seventh predict with a face, explain + response map).
  auto step = [&](long k) -> bool {
    const Frame& fr = frames[static_cast<size_t>(k) % frames.size()];
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    if (faceattr_session_predict(s, &fr.image, &faces, &n) != FACEATTR_OK) {
      std::fprintf(stderr, "soak_native: predict %ld (%dx%d) failed: %s\n", k, fr.image.width,
                   fr.image.height, faceattr_last_error());
      return false;
    }
    faces_total += n;
    frames_with_faces += n > 0;
    if (n > 0 && k % 7 == 0) {
      faceattr_response_map m;
      if (faceattr_session_explain(s, 0, explain_attrs, 3, explanations) != FACEATTR_OK ||
          faceattr_session_response_map(s, &m) != FACEATTR_OK) {
        std::fprintf(stderr, "soak_native: explain / response map after predict %ld failed: %s\n", k,
                     faceattr_last_error());
        return false;
      }
      ++explains;
    }
    return true;
  };

  // Warm-up: two passes over every frame (all sizes and formats, the largest included).
  const long warmup = 2 * static_cast<long>(frames.size());
  for (long k = 0; k < warmup; ++k) {
    if (!step(k)) return 2;
  }
  const long base = rss_kb();
  long lo = base, hi = base;
  std::printf("soak_native: %s + %s, backend %s, %d thread(s); %zu frames (32x32 .. 640x480, 4 formats)\n",
              o.anet.c_str(), o.lnet.c_str(), faceattr_backend_name(faceattr_session_backend(s)), o.threads,
              frames.size());
  std::printf("soak_native: warm-up %ld predicts; RSS after warm-up %ld KB\n", warmup, base);
  faces_total = frames_with_faces = explains = 0;

  const auto t0 = std::chrono::steady_clock::now();
  for (long k = 0; k < o.predicts; ++k) {
    if (!step(warmup + k)) return 2;
    if ((k + 1) % o.every == 0 || k + 1 == o.predicts) {
      const long r = rss_kb();
      lo = std::min(lo, r);
      hi = std::max(hi, r);
      if ((k + 1) % (o.every * 10) == 0) std::printf("soak_native: %ld predicts, RSS %ld KB\n", k + 1, r);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long final_rss = rss_kb();
  faceattr_session_free(s);

  std::printf(
      "soak_native: %ld predicts in %.1f s (%.0f predicts/s); %ld faces found, %ld frames with a face, "
      "%ld explain + response-map reads\n",
      o.predicts, secs, static_cast<double>(o.predicts) / secs, faces_total, frames_with_faces, explains);
  std::printf(
      "soak_native: RSS KB: after warm-up %ld, min %ld, max %ld, final %ld; drift max %+ld, final %+ld "
      "(bound +%ld)\n",
      base, lo, hi, final_rss, hi - base, final_rss - base, o.max_drift_kb);
  if (hi - base > o.max_drift_kb) {
    std::printf("soak_native: FAIL: RSS rose %ld KB above the post-warm-up baseline (bound %ld KB)\n",
                hi - base, o.max_drift_kb);
    return 1;
  }
  std::printf("soak_native: PASS: RSS within %ld KB of the post-warm-up baseline\n", o.max_drift_kb);
  return 0;
}
