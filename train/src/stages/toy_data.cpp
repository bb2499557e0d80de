// A tiny CelebA/LFW/MTFL-layout dataset of generated JPEGs, for the smoke test:
// the attribute file is plain text with CRLF lines and rows without images
// (like the 10,000-image subset), the other annotation files are gzip'd.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "data/jpeg.h"
#include "stages/stages.h"

namespace faceattr::train {
namespace fs = std::filesystem;

static void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

static void write_gz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f || gzwrite(f, text.data(), static_cast<unsigned>(text.size())) != static_cast<int>(text.size()))
    throw std::runtime_error("cannot write " + path);
  gzclose(f);
}

// A face-ish blob whose brightness encodes attribute 0 and whose hue encodes attribute 1.
static RgbImage toy_face(int w, int h, bool a0, bool a1, std::mt19937& rng) {
  RgbImage im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<size_t>(w) * h * 3);
  std::uniform_int_distribution<int> noise(-12, 12);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = (x - w / 2.0) / (w * 0.3), dy = (y - h / 2.0) / (h * 0.35);
      const bool in = dx * dx + dy * dy < 1;
      int base = in ? (a0 ? 200 : 90) : 40;
      uint8_t* p = &im.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(std::clamp(base + (a1 && in ? 40 : 0) + noise(rng), 0, 255));
      p[1] = static_cast<uint8_t>(std::clamp(base + noise(rng), 0, 255));
      p[2] = static_cast<uint8_t>(std::clamp(base - (a1 && in ? 40 : 0) + noise(rng), 0, 255));
    }
  return im;
}

void make_toy_data(const std::string& root, int n_images) {
  const std::string anno = root + "/celeba/anno", imgs = root + "/celeba/img_align_89x109";
  fs::create_directories(anno);
  fs::create_directories(imgs);
  std::mt19937 rng(7);
  const int n_rows = n_images + 5;  // the last rows have no image file
  std::string attr = std::to_string(n_rows) + "\r\n", part, ident;
  // CelebA's attribute names (anet-joint looks up Male, Smiling, Eyeglasses and Young).
  static const char* kNames[40] = {"5_o_Clock_Shadow",
                                   "Arched_Eyebrows",
                                   "Attractive",
                                   "Bags_Under_Eyes",
                                   "Bald",
                                   "Bangs",
                                   "Big_Lips",
                                   "Big_Nose",
                                   "Black_Hair",
                                   "Blond_Hair",
                                   "Blurry",
                                   "Brown_Hair",
                                   "Bushy_Eyebrows",
                                   "Chubby",
                                   "Double_Chin",
                                   "Eyeglasses",
                                   "Goatee",
                                   "Gray_Hair",
                                   "Heavy_Makeup",
                                   "High_Cheekbones",
                                   "Male",
                                   "Mouth_Slightly_Open",
                                   "Mustache",
                                   "Narrow_Eyes",
                                   "No_Beard",
                                   "Oval_Face",
                                   "Pale_Skin",
                                   "Pointy_Nose",
                                   "Receding_Hairline",
                                   "Rosy_Cheeks",
                                   "Sideburns",
                                   "Smiling",
                                   "Straight_Hair",
                                   "Wavy_Hair",
                                   "Wearing_Earrings",
                                   "Wearing_Hat",
                                   "Wearing_Lipstick",
                                   "Wearing_Necklace",
                                   "Wearing_Necktie",
                                   "Young"};
  for (int a = 0; a < 40; ++a) attr += std::string(kNames[a]) + (a < 39 ? " " : "\r\n");
  for (int i = 1; i <= n_rows; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.jpg", i);
    const bool a0 = rng() % 2, a1 = rng() % 3 == 0;
    attr += name;
    for (int a = 0; a < 40; ++a) attr += (a == 0 ? a0 : a == 1 ? a1 : (rng() % 4 == 0)) ? "  1" : " -1";
    attr += "\r\n";
    part += std::string(name) + " 0\n";
    ident += std::string(name) + " " + std::to_string(1 + (i % 12)) + "\n";
    if (i <= n_images) write_bytes(imgs + "/" + name, encode_jpeg(toy_face(89, 109, a0, a1, rng), 90));
  }
  std::ofstream(anno + "/list_attr_celeba.txt", std::ios::binary) << attr;
  write_gz(anno + "/list_eval_partition.txt.gz", part);
  write_gz(anno + "/identity_CelebA.txt.gz", ident);
  for (int p = 0; p < 4; ++p) {
    const std::string person = "Person_" + std::to_string(p);
    fs::create_directories(root + "/lfw/" + person);
    for (int k = 1; k <= 3; ++k) {
      char name[64];
      std::snprintf(name, sizeof name, "%s_%04d.jpg", person.c_str(), k);
      write_bytes(root + "/lfw/" + person + "/" + name,
                  encode_jpeg(toy_face(112, 112, p % 2, p / 2, rng), 90));
    }
  }
  // MTFL layout: a list of "path x1..x5 y1..y5 gender smile glasses pose" (1 = yes/male,
  // 2 = no/female), every 10th line held out; 20 photos with the landmarks on the blob.
  fs::create_directories(root + "/mtfl/toy");
  std::string mtfl;
  for (int i = 0; i < 20; ++i) {
    const int w = 150, h = 150;
    const bool male = i % 2, smile = i % 3 == 0, glasses = i % 5 == 0;
    char name[32];
    std::snprintf(name, sizeof name, "toy/%04d.jpg", i);
    write_bytes(root + "/mtfl/" + name, encode_jpeg(toy_face(w, h, male, smile, rng), 90));
    char line[256];
    std::snprintf(line, sizeof line, "%s %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %d %d %d 3\n",
                  name, 0.40 * w, 0.60 * w, 0.50 * w, 0.42 * w, 0.58 * w, 0.45 * h, 0.45 * h, 0.55 * h,
                  0.65 * h, 0.65 * h, male ? 1 : 2, smile ? 1 : 2, glasses ? 1 : 2);
    mtfl += line;
  }
  std::ofstream(root + "/mtfl/training.txt", std::ios::binary) << mtfl;
  fs::create_directories(root + "/objects");
  write_bytes(root + "/objects/n00000001.jpg", encode_jpeg(toy_face(64, 48, true, true, rng), 90));
  // Plain noisy backgrounds: LNet's scenes hold out every 10th object photo for validation.
  std::uniform_int_distribution<int> level(20, 230), noise(-20, 20);
  for (int k = 2; k <= 12; ++k) {
    RgbImage bg;
    bg.width = 96;
    bg.height = 72;
    bg.pixels.resize(static_cast<size_t>(bg.width) * bg.height * 3);
    const int r = level(rng), g = level(rng), b = level(rng);
    for (size_t i = 0; i < bg.pixels.size(); i += 3) {
      bg.pixels[i] = static_cast<uint8_t>(std::clamp(r + noise(rng), 0, 255));
      bg.pixels[i + 1] = static_cast<uint8_t>(std::clamp(g + noise(rng), 0, 255));
      bg.pixels[i + 2] = static_cast<uint8_t>(std::clamp(b + noise(rng), 0, 255));
    }
    char name[32];
    std::snprintf(name, sizeof name, "/objects/n%08d.jpg", k);
    write_bytes(root + name, encode_jpeg(bg, 90));
  }
}

}  // namespace faceattr::train
