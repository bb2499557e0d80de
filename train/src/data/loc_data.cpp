#include "data/loc_data.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "data/celeba.h"
#include "data/folders.h"
#include "data/scenes.h"
#include "util/progress.h"

namespace fs = std::filesystem;

namespace faceattr::train {
namespace {

float uni(std::mt19937& rng, float a, float b) { return std::uniform_real_distribution<float>(a, b)(rng); }
float log_uni(std::mt19937& rng, float a, float b) { return std::exp(uni(rng, std::log(a), std::log(b))); }

// Mean landmarks of CelebA's aligned 178x218 crops (list_landmarks_align_celeba), halved
// for the 89x109 images: left eye, right eye, nose, left and right mouth corner.
constexpr float kAlignedX[5] = {34.5f, 54.0f, 44.5f, 36.0f, 53.0f};
constexpr float kAlignedY[5] = {55.5f, 55.5f, 67.5f, 76.0f, 76.0f};

// Decodes `paths` on `threads` threads; failures throw after all threads end.
std::vector<RgbImage> decode_all(const std::vector<std::string>& paths, int threads, const char* what) {
  std::vector<RgbImage> out(paths.size());
  std::atomic<size_t> next{0};
  std::string error;
  std::mutex mu;
  Progress bar(std::string("[loc] decoding ") + what, paths.size());
  auto work = [&] {
    for (size_t i; (i = next++) < paths.size();) {
      try {
        out[i] = decode_jpeg_file(paths[i]);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.empty()) error = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  bar.finish();
  if (!error.empty()) throw std::runtime_error(error);
  return out;
}

}  // namespace

std::vector<LocImage> read_mtfl(const std::string& file, int max_lines, int split, int threads) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read MTFL list " + file);
  const std::string dir = fs::path(file).parent_path().string();
  std::vector<LocImage> imgs;
  std::vector<std::string> paths;
  std::string line;
  int index = -1, lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++index;
    const bool val = index % 10 == 0;
    if ((split == 0 && val) || (split == 1 && !val)) continue;
    std::istringstream ss(line);
    std::string path;
    float x[5], y[5];
    int g, s, gl, pose;
    ss >> path;
    for (float& v : x) ss >> v;
    for (float& v : y) ss >> v;
    ss >> g >> s >> gl >> pose;
    if (!ss) throw std::runtime_error(file + ":" + std::to_string(lineno) + ": malformed MTFL line");
    LocImage im;
    im.name = path;
    LocFace f;
    f.has_landmarks = true;
    std::copy(x, x + 5, f.lx);
    std::copy(y, y + 5, f.ly);
    f.box = canonical_face_box(x, y);
    im.faces.push_back(f);
    im.male = g == 1, im.smiling = s == 1, im.glasses = gl == 1;
    imgs.push_back(std::move(im));
    paths.push_back(dir + "/" + path);
    if (max_lines > 0 && static_cast<int>(imgs.size()) >= max_lines) break;
  }
  auto px = decode_all(paths, threads, split == 1 ? "MTFL (validation)" : "MTFL (training)");
  for (size_t i = 0; i < imgs.size(); ++i) imgs[i].img = std::move(px[i]);
  return imgs;
}

namespace {

// scenes_real/boxes.tsv: scene number odd -> training (parity 1), even -> validation (0).
std::vector<LocImage> read_real(const std::string& dir, int parity, int threads) {
  std::ifstream in(dir + "/boxes.tsv");
  if (!in) throw std::runtime_error("cannot read " + dir + "/boxes.tsv");
  std::map<std::string, LocImage> by_name;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::istringstream ss(line);
    std::string name, label;
    float x, y, w, h;
    if (!std::getline(ss, name, '\t') || !std::getline(ss, label, '\t') || !(ss >> x >> y >> w >> h))
      throw std::runtime_error(dir + "/boxes.tsv:" + std::to_string(lineno) + ": malformed line");
    const auto digits = name.find_first_of("0123456789");
    const int number = digits == std::string::npos ? 0 : std::atoi(name.c_str() + digits);
    if (number % 2 != parity) continue;
    LocImage& im = by_name[name];
    im.name = name;
    LocFace f;
    // The labelled box covers the whole face (mask included): the square of the same area.
    f.box = {x + w / 2, y + h / 2, std::sqrt(w * h)};
    im.faces.push_back(f);
  }
  std::vector<LocImage> imgs;
  std::vector<std::string> paths;
  for (auto& [name, im] : by_name) {
    paths.push_back(dir + "/images/" + name);
    imgs.push_back(std::move(im));
  }
  auto px = decode_all(paths, threads, parity ? "real scenes (training)" : "real scenes (validation)");
  for (size_t i = 0; i < imgs.size(); ++i) imgs[i].img = std::move(px[i]);
  return imgs;
}

// Pastes a w x h float patch (0..255) at (x, y) of an RGB canvas (W x H), alpha by a feathered
// rectangle border of `feather` pixels (0 = hard edges).
void paste(std::vector<float>& canvas, int W, int H, const std::vector<float>& patch, int x, int y, int w,
           int h, float feather) {
  for (int j = 0; j < h; ++j) {
    const int cy = y + j;
    if (cy < 0 || cy >= H) continue;
    for (int i = 0; i < w; ++i) {
      const int cx = x + i;
      if (cx < 0 || cx >= W) continue;
      float a = 1.0f;
      if (feather > 0) {
        const float d = std::min(std::min(i + 0.5f, w - i - 0.5f), std::min(j + 0.5f, h - j - 0.5f));
        a = std::clamp(d / feather, 0.0f, 1.0f);
      }
      float* o = &canvas[(static_cast<size_t>(cy) * W + cx) * 3];
      const float* s = &patch[(static_cast<size_t>(j) * w + i) * 3];
      for (int c = 0; c < 3; ++c) o[c] = o[c] * (1 - a) + s[c] * a;
    }
  }
}

// Places `src` scaled by k with its pixel (0, 0) at canvas (ox, oy); returns the canvas rect
// it covers (clipped) through sample_square, pasted with hard edges.
void place_image(std::vector<float>& canvas, int W, int H, const RgbImage& src, float k, float ox, float oy,
                 float feather, std::vector<float>& tmp) {
  const float x0 = std::max(0.0f, ox), y0 = std::max(0.0f, oy);
  const float x1 = std::min(static_cast<float>(W), ox + k * src.width);
  const float y1 = std::min(static_cast<float>(H), oy + k * src.height);
  const int ix0 = static_cast<int>(std::floor(x0)), iy0 = static_cast<int>(std::floor(y0));
  const int w = static_cast<int>(std::ceil(x1)) - ix0, h = static_cast<int>(std::ceil(y1)) - iy0;
  if (w <= 0 || h <= 0) return;
  // Canvas pixel (ix0 + i) samples source x = (ix0 + i - ox) / k.
  const float scx = (ix0 + w / 2.0f - ox) / k, scy = (iy0 + h / 2.0f - oy) / k;
  sample_square(src, scx, scy, w / k, h / k, w, h, tmp);
  paste(canvas, W, H, tmp, ix0, iy0, w, h, feather);
}

void object_background(const LocPools& p, int W, int H, std::mt19937& rng, std::vector<float>& canvas,
                       std::vector<float>& tmp) {
  const RgbImage& bg = p.objects_train[rng() % p.objects_train.size()];
  const float aspect = static_cast<float>(W) / H;
  float cw = static_cast<float>(bg.width), ch = cw / aspect;
  if (ch > bg.height) ch = static_cast<float>(bg.height), cw = ch * aspect;
  const float s = std::sqrt(uni(rng, 0.4f, 1.0f));
  cw *= s, ch *= s;
  const float cx = uni(rng, cw / 2, bg.width - cw / 2), cy = uni(rng, ch / 2, bg.height - ch / 2);
  sample_square(bg, cx, cy, cw, ch, W, H, canvas);
  // A few object patches as clutter.
  const int n = static_cast<int>(rng() % 3);
  for (int k = 0; k < n; ++k) {
    const RgbImage& ob = p.objects_train[rng() % p.objects_train.size()];
    const float side = log_uni(rng, 16, 0.6f * H);
    const int w = static_cast<int>(side), h = static_cast<int>(side * uni(rng, 0.7f, 1.4f));
    sample_square(ob, ob.width / 2.0f, ob.height / 2.0f, ob.width * 0.7f, ob.height * 0.7f, w, h, tmp);
    paste(canvas, W, H, tmp, static_cast<int>(uni(rng, -w / 2.0f, W - w / 2.0f)),
          static_cast<int>(uni(rng, -h / 2.0f, H - h / 2.0f)), w, h, uni(rng, 0, 1) < 0.5f ? 0.0f : 4.0f);
  }
}

// A synthetic face mask over the lower face (nose to chin), in source pixels of `img`
// (a copy), drawn from the landmarks: most real crowd faces wear one.
RgbImage with_mask(const RgbImage& img, const LocFace& f, std::mt19937& rng) {
  RgbImage out = img;
  const float ex = (f.lx[0] + f.lx[1]) / 2, ey = (f.ly[0] + f.ly[1]) / 2;
  const float mx = (f.lx[3] + f.lx[4]) / 2, my = (f.ly[3] + f.ly[4]) / 2;
  float dx = mx - ex, dy = my - ey;
  const float d = std::max(1.0f, std::hypot(dx, dy));
  dx /= d, dy /= d;               // face "down" direction; "right" = (-dy, dx) rotated: (dy... ) below
  const float rx = -dy, ry = dx;  // perpendicular (image right for an upright face: (1, 0))
  // Mask in face coordinates (u right, v down, units of d, origin at the eye midpoint):
  // top edge at the nose (v ~ 0.55), bottom under the chin (v ~ 1.75), half-width 1.1 at
  // the top, 0.75 at the bottom; the nose tip landmark sets the top.
  const float nose_v = ((f.lx[2] - ex) * dx + (f.ly[2] - ey) * dy) / d;
  const float top = std::max(0.35f, nose_v - uni(rng, 0.15f, 0.3f)), bottom = uni(rng, 1.6f, 1.9f);
  const float hw_top = uni(rng, 1.0f, 1.25f), hw_bot = uni(rng, 0.6f, 0.85f);
  const float centre_u = ((f.lx[2] - ex) * rx + (f.ly[2] - ey) * ry) / d * 0.5f;
  static const uint8_t colours[][3] = {{200, 225, 240}, {235, 235, 235}, {30, 30, 35},   {90, 140, 200},
                                       {180, 190, 200}, {60, 60, 70},    {220, 200, 180}};
  const auto* col = colours[rng() % (sizeof colours / sizeof colours[0])];
  const float shade = uni(rng, 0.8f, 1.1f);
  // Bounding box of the mask in pixels.
  const float R = (bottom + 1.3f) * d;
  const int x0 = std::max(0, static_cast<int>(ex - R)),
            x1 = std::min(out.width - 1, static_cast<int>(ex + R));
  const int y0 = std::max(0, static_cast<int>(ey - R)),
            y1 = std::min(out.height - 1, static_cast<int>(ey + R));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const float u = ((x - ex) * rx + (y - ey) * ry) / d - centre_u, v = ((x - ex) * dx + (y - ey) * dy) / d;
      if (v < top || v > bottom) continue;
      const float t = (v - top) / (bottom - top);
      const float hw = hw_top + (hw_bot - hw_top) * t * t;
      if (std::fabs(u) > hw) continue;
      uint8_t* px = &out.pixels[(static_cast<size_t>(y) * out.width + x) * 3];
      const float fold = 1.0f - 0.08f * std::fabs(std::sin(v * 9.0f));  // pleats
      for (int c = 0; c < 3; ++c)
        px[c] = static_cast<uint8_t>(std::clamp(col[c] * shade * fold, 0.0f, 255.0f));
    }
  return out;
}

LocSample finish(std::vector<float>& rgb, int W, int H, const InputSpec& in, std::vector<LocBox> faces) {
  LocSample s;
  s.width = W;
  s.height = H;
  s.pixels.resize(rgb.size());
  for (size_t i = 0; i < rgb.size(); ++i) {
    const int c = static_cast<int>(i % 3);
    s.pixels[i] = (rgb[i] / 255.0f - in.mean[c]) / in.std[c];
  }
  s.faces = std::move(faces);
  return s;
}

LocBox box_of(const FaceSquare& f, float k, float ox, float oy) {
  return {ox + k * (f.cx - f.side / 2), oy + k * (f.cy - f.side / 2), k * f.side, k * f.side};
}

bool overlaps(const std::vector<LocBox>& boxes, const LocBox& b, float margin) {
  for (const auto& o : boxes) {
    const float ix = std::min(o.x + o.w, b.x + b.w) - std::max(o.x, b.x) + margin;
    const float iy = std::min(o.y + o.h, b.y + b.h) - std::max(o.y, b.y) + margin;
    if (ix > 0 && iy > 0) return true;
  }
  return false;
}

}  // namespace

FaceSquare canonical_face_box(const float lx[5], const float ly[5]) {
  const float ex = (lx[0] + lx[1]) / 2, ey = (ly[0] + ly[1]) / 2;
  const float mx = (lx[3] + lx[4]) / 2, my = (ly[3] + ly[4]) / 2;
  const float s = std::max(std::hypot(mx - ex, my - ey), std::hypot(lx[1] - lx[0], ly[1] - ly[0]));
  return {ex + 0.3f * (mx - ex), ey + 0.3f * (my - ey), 2.8f * s};
}

LocPools load_loc_pools(const Options& o, int max_mtfl, int max_celeba) {
  LocPools p;
  const int threads = std::max(1, o.threads);
  const std::string mtfl = o.data_root + "/mtfl/training.txt";
  p.mtfl_train = read_mtfl(mtfl, max_mtfl, 0, threads);
  p.mtfl_val = read_mtfl(mtfl, max_mtfl > 0 ? max_mtfl / 9 + 1 : 0, 1, threads);
  p.real_train = read_real(o.data_root + "/scenes_real", 1, threads);
  p.real_val = read_real(o.data_root + "/scenes_real", 0, threads);

  CelebaSet cs = load_celeba(o.celeba_anno, o.celeba_images);
  std::vector<std::string> tr, va;
  for (const auto& im : cs.images) {
    if (im.partition == 2) continue;
    const bool val = im.identity >= 0 && im.identity % o.val_identity_mod == 0;
    if (val) {
      if (va.size() < 500) va.push_back(im.path);
    } else if (max_celeba <= 0 || static_cast<int>(tr.size()) < max_celeba) {
      tr.push_back(im.path);
    }
  }
  LocFace aligned;
  aligned.has_landmarks = true;
  std::copy(kAlignedX, kAlignedX + 5, aligned.lx);
  std::copy(kAlignedY, kAlignedY + 5, aligned.ly);
  aligned.box = canonical_face_box(kAlignedX, kAlignedY);
  for (auto* pair : {&tr, &va}) {
    auto px = decode_all(*pair, threads, pair == &tr ? "CelebA" : "CelebA (validation)");
    auto& dst = pair == &tr ? p.celeba : p.celeba_val;
    for (size_t i = 0; i < px.size(); ++i) {
      LocImage im;
      im.img = std::move(px[i]);
      im.name = fs::path((*pair)[i]).filename().string();
      LocFace f = aligned;
      // Landmarks are for 89x109; scale when the folder holds another size.
      const float sx = im.img.width / 89.0f, sy = im.img.height / 109.0f;
      for (int k = 0; k < 5; ++k) f.lx[k] *= sx, f.ly[k] *= sy;
      f.box = canonical_face_box(f.lx, f.ly);
      im.faces.push_back(f);
      dst.push_back(std::move(im));
    }
  }

  const auto objects = list_object_images(o.objects_dir);
  std::vector<std::string> otr, ova;
  for (size_t i = 0; i < objects.size(); ++i) (i % 10 == 0 ? ova : otr).push_back(objects[i]);
  p.objects_train = decode_all(otr, threads, "objects");
  p.objects_val = decode_all(ova, threads, "objects (validation)");
  if (p.mtfl_train.empty() || p.celeba.empty() || p.objects_train.empty() || p.objects_val.empty())
    throw std::runtime_error("localiser data: MTFL, CelebA and object photos are all required");
  std::fprintf(
      stderr,
      "[loc] MTFL %zu train / %zu val, real scenes %zu train / %zu val, CelebA %zu (+%zu val), objects "
      "%zu / %zu\n",
      p.mtfl_train.size(), p.mtfl_val.size(), p.real_train.size(), p.real_val.size(), p.celeba.size(),
      p.celeba_val.size(), p.objects_train.size(), p.objects_val.size());
  return p;
}

LocSample compose_loc_train(const LocPools& p, const InputSpec& in, std::mt19937& rng) {
  const int W = in.width, H = in.height;
  std::vector<float> canvas, tmp;
  std::vector<LocBox> faces;
  const float r = uni(rng, 0, 1);
  object_background(p, W, H, rng, canvas, tmp);
  auto photo = [&](const LocImage& im, float side_lo, float side_hi) {
    const LocFace& f = im.faces[rng() % im.faces.size()];
    const float target = log_uni(rng, side_lo, side_hi);
    const float k = target / std::max(1.0f, f.box.side);
    // The face centre lands anywhere on the canvas (large faces near the middle).
    const float mx = std::min(W * 0.45f, std::max(W * 0.05f, W * 0.5f - target * 0.3f));
    const float my = std::min(H * 0.45f, std::max(H * 0.05f, H * 0.5f - target * 0.3f));
    const float fcx = uni(rng, mx, W - mx), fcy = uni(rng, my, H - my);
    const float ox = fcx - k * f.box.cx, oy = fcy - k * f.box.cy;
    const bool mask = f.has_landmarks && uni(rng, 0, 1) < 0.3f;
    place_image(canvas, W, H, mask ? with_mask(im.img, f, rng) : im.img, k, ox, oy,
                uni(rng, 0, 1) < 0.5f ? 0.0f : 6.0f, tmp);
    for (const auto& g : im.faces) faces.push_back(box_of(g.box, k, ox, oy));
  };
  if (r < 0.35f) {  // an MTFL photo, faces 12..200 px
    photo(p.mtfl_train[rng() % p.mtfl_train.size()], 12.0f, 200.0f);
  } else if (r < 0.47f && !p.real_train.empty()) {  // a real crowd scene, at 0.5..1.6 x its letterbox fit
    const LocImage& im = p.real_train[rng() % p.real_train.size()];
    const float fit = std::min(static_cast<float>(W) / im.img.width, static_cast<float>(H) / im.img.height);
    const float k = fit * log_uni(rng, 0.6f, 1.8f);
    const float ox = uni(rng, std::min(0.0f, W - k * im.img.width), std::max(0.0f, W - k * im.img.width));
    const float oy = uni(rng, std::min(0.0f, H - k * im.img.height), std::max(0.0f, H - k * im.img.height));
    place_image(canvas, W, H, im.img, k, ox, oy, 0.0f, tmp);
    for (const auto& g : im.faces) faces.push_back(box_of(g.box, k, ox, oy));
  } else if (r < 0.80f) {  // CelebA faces pasted on objects, 12..120 px
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int t = 0, placed = 0; t < 3 * n && placed < n; ++t) {
      const LocImage& im = p.celeba[rng() % p.celeba.size()];
      const LocFace& f = im.faces[0];
      const float target = log_uni(rng, 12.0f, 120.0f);
      const float k = target / f.box.side;
      const float fcx = uni(rng, 0, W), fcy = uni(rng, 0, H);
      const float ox = fcx - k * f.box.cx, oy = fcy - k * f.box.cy;
      const LocBox b = box_of(f.box, k, ox, oy);
      if (overlaps(faces, b, -0.15f * target)) continue;
      const bool mask = uni(rng, 0, 1) < 0.3f;
      place_image(canvas, W, H, mask ? with_mask(im.img, f, rng) : im.img, k, ox, oy,
                  uni(rng, 0, 1) < 0.5f ? 0.0f : 3.0f, tmp);
      faces.push_back(b);
      ++placed;
    }
  } else if (r < 0.92f) {  // one frame-filling face (a face crop, a webcam close-up)
    const bool celeba = uni(rng, 0, 1) < 0.5f;
    const LocImage& im =
        celeba ? p.celeba[rng() % p.celeba.size()] : p.mtfl_train[rng() % p.mtfl_train.size()];
    const LocFace& f = im.faces[0];
    const float target = uni(rng, 0.45f, 1.0f) * H;
    const float k = target / f.box.side;
    const float fcx = uni(rng, W * 0.3f, W * 0.7f), fcy = uni(rng, H * 0.35f, H * 0.65f);
    const float ox = fcx - k * f.box.cx, oy = fcy - k * f.box.cy;
    const bool mask = uni(rng, 0, 1) < 0.25f;
    place_image(canvas, W, H, mask ? with_mask(im.img, f, rng) : im.img, k, ox, oy, 0.0f, tmp);
    for (const auto& g : im.faces) faces.push_back(box_of(g.box, k, ox, oy));
  }
  // else: objects only.
  colour_jitter(canvas, rng, 0.2f, 0.3f, 0.4f);
  if (uni(rng, 0, 1) < 0.5f) {  // mirror
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W / 2; ++x)
        for (int c = 0; c < 3; ++c)
          std::swap(canvas[(static_cast<size_t>(y) * W + x) * 3 + c],
                    canvas[(static_cast<size_t>(y) * W + (W - 1 - x)) * 3 + c]);
    for (auto& b : faces) b.x = W - b.x - b.w;
  }
  // Letterboxed frames: with probability 0.15 the canvas content ends early (rest 0 after
  // normalisation, as the SDK's letterbox leaves it).
  LocSample s = finish(canvas, W, H, in, std::move(faces));
  if (uni(rng, 0, 1) < 0.15f) {
    const bool cut_w = uni(rng, 0, 1) < 0.5f;
    const int keep = static_cast<int>((cut_w ? W : H) * uni(rng, 0.55f, 0.95f));
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        if ((cut_w ? x : y) >= keep)
          for (int c = 0; c < 3; ++c) s.pixels[(static_cast<size_t>(y) * W + x) * 3 + c] = 0.0f;
    std::vector<LocBox> kept;
    for (const auto& b : s.faces) {
      const float centre = cut_w ? b.x + b.w / 2 : b.y + b.h / 2;
      if (centre < keep) kept.push_back(b);
    }
    s.faces = std::move(kept);
  }
  return s;
}

LocSample letterbox_frame(const RgbImage& img, const InputSpec& in) {
  LocImage li;
  li.img = img;
  return letterbox_frame(li, in);
}

LocSample letterbox_frame(const LocImage& im, const InputSpec& in) {
  const int W = in.width, H = in.height;
  const float k = std::min(static_cast<float>(W) / im.img.width, static_cast<float>(H) / im.img.height);
  const int w = std::max(1, std::min(W, static_cast<int>(std::lround(im.img.width * k))));
  const int h = std::max(1, std::min(H, static_cast<int>(std::lround(im.img.height * k))));
  std::vector<float> patch, canvas(static_cast<size_t>(W) * H * 3, 0.0f);
  sample_square(im.img, im.img.width / 2.0f, im.img.height / 2.0f, static_cast<float>(im.img.width),
                static_cast<float>(im.img.height), w, h, patch);
  LocSample s;
  s.width = W;
  s.height = H;
  s.pixels.assign(canvas.size(), 0.0f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        s.pixels[(static_cast<size_t>(y) * W + x) * 3 + c] =
            (patch[(static_cast<size_t>(y) * w + x) * 3 + c] / 255.0f - in.mean[c]) / in.std[c];
  const float kx = static_cast<float>(w) / im.img.width, ky = static_cast<float>(h) / im.img.height;
  for (const auto& f : im.faces)
    s.faces.push_back({kx * (f.box.cx - f.box.side / 2), ky * (f.box.cy - f.box.side / 2), kx * f.box.side,
                       ky * f.box.side});
  return s;
}

LocTargets loc_targets(const LocSample& s, int mh, int mw, int stride, float offset_range, float box_min,
                       float box_max) {
  LocTargets t;
  const size_t cells = static_cast<size_t>(mh) * mw;
  t.heat.assign(cells, 0.0f);
  t.reg.assign(4 * cells, 0.5f);
  t.reg_w.assign(cells, 0.0f);
  t.neg_w.assign(cells, 1.0f);
  const float lr = std::log(box_max / box_min);
  std::vector<float> best(cells, 0.0f);  // heat of the face owning each cell's regression
  for (const auto& b : s.faces) {
    const float side = std::sqrt(b.w * b.h);
    const float cx = (b.x + b.w / 2) / stride, cy = (b.y + b.h / 2) / stride;  // cells
    if (!(cx >= 0 && cx < mw && cy >= 0 && cy < mh)) continue;
    const int ci = static_cast<int>(cy), cj = static_cast<int>(cx);
    if (side < 8.0f) {  // too small to learn from: neither face nor background
      for (int i = std::max(0, ci - 1); i <= std::min(mh - 1, ci + 1); ++i)
        for (int j = std::max(0, cj - 1); j <= std::min(mw - 1, cj + 1); ++j) t.neg_w[i * mw + j] = 0.0f;
      continue;
    }
    const float sigma = std::max(0.5f, 0.12f * side / stride);
    const int rad = static_cast<int>(std::ceil(3 * sigma));
    for (int i = std::max(0, ci - rad); i <= std::min(mh - 1, ci + rad); ++i)
      for (int j = std::max(0, cj - rad); j <= std::min(mw - 1, cj + rad); ++j) {
        const float dx = j + 0.5f - cx, dy = i + 0.5f - cy;
        float g = std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
        if (i == ci && j == cj) g = 1.0f;
        const size_t c = static_cast<size_t>(i) * mw + j;
        t.heat[c] = std::max(t.heat[c], g);
        // Regression where a peak may appear: the centre cell and its 8 neighbours.
        if (std::abs(i - ci) <= 1 && std::abs(j - cj) <= 1 && g > best[c]) {
          best[c] = g;
          t.reg_w[c] = i == ci && j == cj ? 1.0f : 0.5f;
          const float ox = 0.5f + (cx - (j + 0.5f)) / (2 * offset_range);
          const float oy = 0.5f + (cy - (i + 0.5f)) / (2 * offset_range);
          const float sw = std::log(std::max(box_min, b.w) / box_min) / lr;
          const float sh = std::log(std::max(box_min, b.h) / box_min) / lr;
          t.reg[0 * cells + c] = std::clamp(ox, 0.0f, 1.0f);
          t.reg[1 * cells + c] = std::clamp(oy, 0.0f, 1.0f);
          t.reg[2 * cells + c] = std::clamp(sw, 0.0f, 1.0f);
          t.reg[3 * cells + c] = std::clamp(sh, 0.0f, 1.0f);
        }
      }
  }
  return t;
}

}  // namespace faceattr::train
