// Writes the inputs of the CLI and package tests into one folder, together with
// the results they must produce. Expected values follow from how the models and
// images are built, not from running the SDK:
//
//  - anet-brightness.fam: input 16x16, global average pool -> fully connected
//    -> sigmoid over the 40 CelebA attributes. Attribute i has logit
//    s_i * 20 * (mean(pixel/255) - 0.5) with s_i = +1 for even i, -1 for odd
//    i. On a white image even attributes have p = sigmoid(10) > 0.9999 and odd
//    ones p < 1e-4; on a black image the reverse.
//  - anet-tiny-int8.fam: tests/support's random int8 network (every op the
//    backends run) for bench and info.
//  - anet-balanced.fam: the brightness network with both threshold policies
//    (policy_thresholds below), and grey.png (20x20, value 128), on which even
//    attributes have p = sigmoid(20 (128/255 - 0.5)) = 0.5098 and odd ones 0.4902:
//    between the two policies' thresholds for half the attributes.
//    expected_thresholds.json holds p and the present flags of each policy.
//  - white/black images (JPEG, PNG), broken images and broken models.
//  - celeba/: a CelebA-layout folder (img/ + attribute file, plain and .gz,
//    CRLF, columns in another order than the model, one extra column, one
//    listed image missing, one present image that is not listed) and the
//    accuracies `faceattr eval` must report, computed from the rule above.
//  - lnet/: tests/support's hand-weighted LNet (response follows R - G, input
//    160x120, 4 px cells) as lnet-tiny.fam (lnet-tiny-coarse.fam: the same with
//    the decoder's coarse pass; lnet-tiny-dense.fam: a 5-channel dense box map,
//    tests/support/tiny_models.h); red.png, a 320x240 grey frame with
//    two red squares (its two faces); withlnet/ holding anet-int8.fam and
//    lnet-int8.fam (the LNet found next to the ANet); scenes/img (the CelebA
//    rows as red crops, so every pasted face is found) and scenes/objects
//    (grey photos: no face) for `eval --scenes`.
//  - decode/: what the decoder must turn upright or read: rotated.jpg (a 24x16
//    white JPEG with EXIF Orientation 6, seen as 16x24), bad-exif.jpg (24x16
//    white, an unreadable EXIF block: taken as stored), cmyk.jpg (24x16, Adobe
//    CMYK without ink: white), white.webp (24x16 lossless), and truncated.webp.
//  - real/: a `eval --real-scenes` folder (boxes.tsv + images/ of red squares,
//    which the tiny LNet finds exactly), with true boxes matched exactly,
//    leniently only, missed, under 24 px, and a red square boxed as no face;
//    real_bad/ (malformed line 2) and real_missing/ (an absent image).
//  - mtfl/: an MTFL-format file (training.txt; imgs/ of red squares) whose
//    landmarks give face boxes matched exactly, leniently only, or not at all;
//    training_bad.txt (malformed line 2), training_missing.txt (absent image).
//    The brightness ANet sees a red face as dark: Male no, Smiling and
//    Eyeglasses yes. tests/native.cmake holds the numbers these give.
//  - utkface/: `eval --utkface` chips named age_gender_race_datetime.jpg.chip.jpg,
//    200x200 solid colours: red and magenta fill the frame (both faces for the
//    tiny LNet; the brightness ANet sees red as dark: Male no, p = sigmoid(-10/3);
//    magenta as bright: Male yes, p = sigmoid(10/3)), light grey is no face (in
//    whole-image mode Male yes); two files not in the pattern; utkface_empty/.
//
// Usage: faceattr_native_fixtures OUT_DIR
#include <turbojpeg.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "model_def.h"
#include "native/image_fixtures.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_image_write.h>

namespace fs = std::filesystem;
namespace mf = faceattr::modelfile;
using json = nlohmann::ordered_json;

namespace {

const std::vector<std::string> kCelebaNames = {"5_o_Clock_Shadow",
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

constexpr int kInput = 16;

std::vector<float> thresholds() {
  std::vector<float> t;
  for (size_t i = 0; i < kCelebaNames.size(); ++i) t.push_back(0.3f + 0.01f * static_cast<float>(i));
  return t;
}

// anet-balanced.fam's thresholds: accuracy 0.5 for every attribute; balanced 0.4 for
// i % 4 in {0, 1}, 0.6 for i % 4 in {2, 3}. On grey.png (p = 0.5 +- 0.0098) the policies
// agree on i % 4 in {0, 3} and disagree on i % 4 in {1, 2}.
std::vector<float> policy_thresholds(bool balanced) {
  std::vector<float> t;
  for (size_t i = 0; i < kCelebaNames.size(); ++i) t.push_back(!balanced ? 0.5f : i % 4 < 2 ? 0.4f : 0.6f);
  return t;
}

// The brightness network's p for attribute i on a solid image of value v.
double brightness_p(size_t i, int v) {
  const double s = i % 2 == 0 ? 1.0 : -1.0;
  return 1.0 / (1.0 + std::exp(-s * 20.0 * (v / 255.0 - 0.5)));
}

// Attribute i is predicted present on a white image iff i is even (black: odd).
bool predicted_present(bool white, size_t attr) { return white == (attr % 2 == 0); }

mf::ModelDef brightness_anet() {
  const int n = static_cast<int>(kCelebaNames.size());
  mf::ModelDef m;
  m.kind = "anet";
  m.name = "native-test-brightness";
  m.description = "test model: attributes follow the image brightness";
  m.input_width = m.input_height = kInput;
  m.mean = {0.0f, 0.0f, 0.0f};
  m.std = {1.0f, 1.0f, 1.0f};
  m.attribute_names = kCelebaNames;
  m.thresholds = thresholds();
  m.metadata = {{"license", "test-only"}, {"recipe", "hand-set weights"}};
  std::vector<float> w, b;
  for (int i = 0; i < n; ++i) {
    const float s = i % 2 == 0 ? 1.0f : -1.0f;
    for (int c = 0; c < 3; ++c) w.push_back(s * 20.0f / 3.0f);
    b.push_back(-s * 10.0f);
  }
  const int x = m.add_activation("input", {1, kInput, kInput, 3});
  const int g = m.add_activation("gap.out", {1, 1, 1, 3});
  const int wt = m.add_const_f32("fc.weight", {n, 3}, w);
  const int bt = m.add_const_f32("fc.bias", {n}, b);
  const int z = m.add_activation("fc.out", {1, n});
  const int y = m.add_activation("probs", {1, n});
  mf::NodeDef gap;
  gap.name = "gap";
  gap.op = mf::Op::GlobalAvgPool;
  gap.inputs = {x};
  gap.output = g;
  m.add_node(gap);
  mf::NodeDef fc;
  fc.name = "fc";
  fc.op = mf::Op::FullyConnected;
  fc.inputs = {g, wt, bt};
  fc.output = z;
  m.add_node(fc);
  mf::NodeDef sig;
  sig.name = "sigmoid";
  sig.op = mf::Op::Sigmoid;
  sig.inputs = {z};
  sig.output = y;
  m.add_node(sig);
  m.inputs = {x};
  m.outputs = {y};
  return m;
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

void write_text(const fs::path& p, const std::string& text) {
  write_bytes(p, std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<uint8_t> solid_rgb(int w, int h, uint8_t v) { return std::vector<uint8_t>(size_t(w) * h * 3, v); }

std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t>& rgb, int w, int h) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj, rgb.data(), w, w * 3, h, TJPF_RGB, &buf, &size, TJSAMP_444, 95, 0) != 0) {
    throw std::runtime_error(std::string("tjCompress2: ") + tjGetErrorStr2(tj));
  }
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

std::vector<uint8_t> encode_png(const std::vector<uint8_t>& rgb, int w, int h) {
  std::vector<uint8_t> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(sink, &out, w, h, 3, rgb.data(), w * 3)) throw std::runtime_error("png encode");
  return out;
}

// Deterministic labels with both classes for most attributes.
int label_of(size_t row, size_t attr) { return ((row * 7 + attr * 3 + (attr * attr) % 5) % 3) != 0 ? 1 : -1; }

std::string gzip(const std::string& text) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib");
  std::string out(compressBound(static_cast<uLong>(text.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("gzip");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct CelebaImage {
  std::string name;
  bool white;
  bool exists;
  bool png_content;  // a PNG stored under a .jpg name: the decoder sniffs bytes
};

struct Counts {
  long tp = 0, tn = 0, fp = 0, fn = 0;

  void add(bool p, bool t) { (t ? (p ? tp : fn) : (p ? fp : tn)) += 1; }
  double accuracy() const { return double(tp + tn) / double(tp + tn + fp + fn); }
  double balanced() const {
    const long pos = tp + fn, neg = tn + fp;
    if (pos == 0) return double(tn) / double(neg);
    if (neg == 0) return double(tp) / double(pos);
    return 0.5 * (double(tp) / double(pos) + double(tn) / double(neg));
  }
};

size_t attr_index(const std::string& name) {
  for (size_t a = 0; a < kCelebaNames.size(); ++a)
    if (kCelebaNames[a] == name) return a;
  throw std::runtime_error("no attribute " + name);
}

// `eval --json` on the rows that exist (the first `limit` of them when > 0; only those
// with keep[r] when keep is given, as --split selects them). The brightness
// ANet's p is within 1e-4 of 0 or 1, so each attribute's ECE is 1 - accuracy to that precision,
// and it gives one value per attribute and image colour ("distinct_p"). "slices": per slice of
// the labels Male x Young x Pale_Skin (index male * 4 + young * 2 + pale), the image count and
// the two means over attributes.
json expected_eval(const std::vector<CelebaImage>& rows, size_t limit, const std::vector<bool>& keep = {},
                   const std::string& split = "all") {
  std::vector<Counts> counts(kCelebaNames.size());
  std::vector<std::vector<Counts>> slices(8, std::vector<Counts>(kCelebaNames.size()));
  std::vector<long> slice_n(8);
  const size_t male = attr_index("Male"), young = attr_index("Young"), pale = attr_index("Pale_Skin");
  long n = 0;
  bool any_white = false, any_black = false;
  for (size_t r = 0; r < rows.size() && (limit == 0 || static_cast<size_t>(n) < limit); ++r) {
    if (!rows[r].exists || (!keep.empty() && !keep[r])) continue;
    ++n;
    (rows[r].white ? any_white : any_black) = true;
    const size_t s =
        (label_of(r, male) > 0 ? 4 : 0) + (label_of(r, young) > 0 ? 2 : 0) + (label_of(r, pale) > 0 ? 1 : 0);
    ++slice_n[s];
    for (size_t a = 0; a < kCelebaNames.size(); ++a) {
      const bool p = predicted_present(rows[r].white, a), t = label_of(r, a) > 0;
      counts[a].add(p, t);
      slices[s][a].add(p, t);
    }
  }
  json per = json::object();
  double sum_acc = 0, sum_bal = 0;
  for (size_t a = 0; a < kCelebaNames.size(); ++a) {
    const double acc = counts[a].accuracy(), bal = counts[a].balanced();
    per[kCelebaNames[a]] = {{"accuracy", acc},
                            {"balanced_accuracy", bal},
                            {"ece", 1.0 - acc},
                            {"distinct_p", int(any_white) + int(any_black)}};
    sum_acc += acc;
    sum_bal += bal;
  }
  json slice_list = json::array();
  for (size_t s = 0; s < 8; ++s) {
    json e = {{"n", slice_n[s]}};
    if (slice_n[s] > 0) {
      double acc = 0, bal = 0;
      for (const Counts& c : slices[s]) acc += c.accuracy(), bal += c.balanced();
      e["mean_accuracy"] = acc / double(kCelebaNames.size());
      e["mean_balanced_accuracy"] = bal / double(kCelebaNames.size());
    }
    slice_list.push_back(e);
  }
  const double na = static_cast<double>(kCelebaNames.size());
  return {{"n_images", n},
          {"split", split},
          {"mean_accuracy", sum_acc / na},
          {"mean_balanced_accuracy", sum_bal / na},
          {"per_attribute", per},
          {"slices", slice_list}};
}

void make_celeba(const fs::path& dir) {
  const fs::path img = dir / "img";
  fs::create_directories(img);
  const std::vector<CelebaImage> rows = {{"000001.jpg", true, true, false},
                                         {"000002.jpg", false, true, false},
                                         {"000003.jpg", true, true, true},
                                         {"000004.jpg", true, false, false},
                                         {"000005.jpg", false, true, false}};
  for (const CelebaImage& r : rows) {
    if (!r.exists) continue;
    const int w = 30, h = 36;  // CelebA-like portrait aspect
    const auto px = solid_rgb(w, h, r.white ? 255 : 0);
    write_bytes(img / r.name, r.png_content ? encode_png(px, w, h) : encode_jpeg(px, w, h));
  }
  write_bytes(img / "999999.jpg", encode_jpeg(solid_rgb(8, 8, 128), 8, 8));  // present, not listed
  // The same images over two folders (eval --images A --images B): 000001-000002 in img_a,
  // 000003-000004 in img_b, and in img_b a black 000001.jpg that the first folder hides.
  fs::create_directories(dir / "img_a");
  fs::create_directories(dir / "img_b");
  for (const CelebaImage& r : rows) {
    if (!r.exists) continue;
    const bool first = r.name < std::string("000003.jpg");
    fs::copy_file(img / r.name, dir / (first ? "img_a" : "img_b") / r.name,
                  fs::copy_options::overwrite_existing);
  }
  write_bytes(dir / "img_b" / "000001.jpg", encode_jpeg(solid_rgb(30, 36, 0), 30, 36));

  // The same listing over a folder whose first image is corrupt.
  const fs::path badset = dir.parent_path() / "badset";
  fs::create_directories(badset);
  std::vector<uint8_t> garbage = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};
  garbage.resize(100, 0x11);
  write_bytes(badset / "000001.jpg", garbage);
  write_bytes(badset / "000002.jpg", encode_jpeg(solid_rgb(30, 36, 0), 30, 36));

  // Columns: the model's names reversed, plus one the model does not have.
  std::vector<size_t> order;
  for (size_t a = kCelebaNames.size(); a-- > 0;) order.push_back(a);
  std::string text = std::to_string(rows.size()) + "\r\n";
  for (size_t a : order) text += kCelebaNames[a] + " ";
  text += "Not_A_Model_Attribute\r\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    text += rows[r].name;
    for (size_t a : order) text += label_of(r, a) > 0 ? "  1" : " -1";
    text += (r % 2 ? " -1" : "  1");
    text += "\r\n";
  }
  write_text(dir / "list_attr.txt", text);
  write_text(dir / "list_attr.txt.gz", gzip(text));
  std::string bad = text;
  bad.replace(bad.find("000002.jpg") + 11, 2, " 2");  // a value that is not 1/-1
  write_text(dir / "bad_attr.txt", bad);
  write_text(dir / "short_attr.txt", "7\r\n" + text.substr(text.find("\r\n") + 2));  // count mismatch

  std::ofstream(dir / "expected_eval.json") << expected_eval(rows, 0).dump(2) << "\n";
  std::ofstream(dir / "expected_eval_limit2.json") << expected_eval(rows, 2).dump(2) << "\n";

  // identity_CelebA.txt beside the attribute file (found by eval --split without --identities):
  // people 10, 20 and 30 are dev (divisible by 10), 3 and 7 train. 000004.jpg (train) is missing.
  const std::vector<int> ids = {10, 3, 20, 7, 30};
  std::string id_text;
  for (size_t r = 0; r < rows.size(); ++r) id_text += rows[r].name + " " + std::to_string(ids[r]) + "\n";
  write_text(dir / "identity_CelebA.txt", id_text);
  write_text(dir / "identity.txt.gz", gzip(id_text));
  write_text(dir / "identity_partial.txt",
             id_text.substr(0, id_text.find("000004.jpg")));  // no 000004, 000005
  write_text(dir / "identity_bad.txt", "000001.jpg 10\n000002.jpg x3\n");
  fs::create_directories(dir / "noid");
  write_text(dir / "noid" / "list_attr.txt", text);  // no identity file beside it
  std::vector<bool> dev(rows.size()), train(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) train[r] = !(dev[r] = ids[r] % 10 == 0);
  std::ofstream(dir / "expected_eval_dev.json") << expected_eval(rows, 0, dev, "dev").dump(2) << "\n";
  std::ofstream(dir / "expected_eval_train.json") << expected_eval(rows, 0, train, "train").dump(2) << "\n";
}

void make_images(const fs::path& dir) {
  // white.jpg 24x16 and black.png 20x20: the 16x16 input's aspect is 1, so the
  // face box is the centred square.
  write_bytes(dir / "white.jpg", encode_jpeg(solid_rgb(24, 16, 255), 24, 16));
  write_bytes(dir / "black.png", encode_png(solid_rgb(20, 20, 0), 20, 20));
  json exp = json::object();
  exp["names"] = kCelebaNames;
  exp["thresholds"] = thresholds();
  exp["images"] = json::array();
  auto entry = [&](const std::string& file, bool white, std::vector<double> box) {
    json present = json::array();
    for (size_t a = 0; a < kCelebaNames.size(); ++a) present.push_back(predicted_present(white, a));
    exp["images"].push_back({{"image", (dir / file).string()}, {"box", box}, {"present", present}});
  };
  entry("white.jpg", true, {4, 0, 16, 16});
  entry("black.png", false, {0, 0, 20, 20});
  std::ofstream(dir / "expected_predict.json") << exp.dump(2) << "\n";

  // grey.png under anet-balanced.fam's two threshold policies.
  write_bytes(dir / "grey.png", encode_png(solid_rgb(20, 20, 128), 20, 20));
  json pol = json::object();
  pol["names"] = kCelebaNames;
  json p = json::array();
  for (size_t a = 0; a < kCelebaNames.size(); ++a) p.push_back(brightness_p(a, 128));
  pol["p"] = p;
  for (bool balanced : {false, true}) {
    const char* name = balanced ? "balanced" : "accuracy";
    const std::vector<float> thr = policy_thresholds(balanced);
    json present = json::array();
    for (size_t a = 0; a < kCelebaNames.size(); ++a) present.push_back(p[a].get<double>() >= thr[a]);
    pol["thresholds"][name] = thr;
    pol["present"][name] = present;
  }
  std::ofstream(dir / "expected_thresholds.json") << pol.dump(2) << "\n";

  // Broken inputs.
  std::vector<uint8_t> garbage = {0xFF, 0xD8, 0xFF, 0xE0};
  for (int i = 0; i < 200; ++i) garbage.push_back(static_cast<uint8_t>(i * 37));
  write_bytes(dir / "corrupt.jpg", garbage);
  std::vector<uint8_t> noisy = faceattr::test::random_bytes(64 * 64 * 3, 7);
  std::vector<uint8_t> jpeg = encode_jpeg(noisy, 64, 64);
  jpeg.resize(jpeg.size() * 6 / 10);
  write_bytes(dir / "truncated.jpg", jpeg);
  write_text(dir / "not_an_image.png", "this is text, not pixels\n");
  write_bytes(dir / "empty.jpg", {});
}

void make_models(const fs::path& dir) {
  const std::vector<uint8_t> good = mf::serialize(brightness_anet());
  write_bytes(dir / "anet-brightness.fam", good);
  mf::ModelDef balanced = brightness_anet();
  balanced.name = "native-test-balanced";
  balanced.thresholds = policy_thresholds(false);
  balanced.balanced_thresholds = policy_thresholds(true);
  write_bytes(dir / "anet-balanced.fam", mf::serialize(balanced));

  faceattr::test::TinyModelSpec spec;
  spec.int8 = true;
  spec.n_attributes = 6;
  spec.input_w = 24;
  spec.input_h = 28;
  write_bytes(dir / "anet-tiny-int8.fam", faceattr::test::tiny_anet_bytes(spec));

  std::vector<uint8_t> flipped = good;
  flipped[flipped.size() - 5] ^= 0x40;  // a weight byte: the CRC catches it
  write_bytes(dir / "corrupt-crc.fam", flipped);
  write_bytes(dir / "truncated.fam", std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2));
  write_text(dir / "not_a_model.fam", "FACEATTR? no, just text\n");
}

void make_lnet(const fs::path& dir, const fs::path& celeba) {
  fs::create_directories(dir / "withlnet");
  faceattr::test::TinyLnetSpec spec;
  spec.input_w = 160;
  spec.input_h = 120;
  const std::vector<uint8_t> lnet = faceattr::test::tiny_lnet_bytes(spec);
  write_bytes(dir / "lnet-tiny.fam", lnet);
  // The same LNet with the decoder's coarse pass (a second, half-size LNet run) and size model.
  faceattr::test::TinyLnetSpec coarse = spec;
  coarse.metadata.insert(coarse.metadata.end(), {{"lnet.half_threshold", "0.9"},
                                                 {"lnet.size_bias", "2.8"},
                                                 {"lnet.size_w1", "0.05"},
                                                 {"lnet.size_w2", "-0.05"}});
  write_bytes(dir / "lnet-tiny-coarse.fam", faceattr::test::tiny_lnet_bytes(coarse));
  // A dense box-map LNet (5 output channels, lnet.dense = 1) of the same input size.
  faceattr::test::TinyDenseLnetSpec dense;
  dense.input_w = 160;
  dense.input_h = 120;
  write_bytes(dir / "lnet-tiny-dense.fam", faceattr::test::tiny_dense_lnet_bytes(dense));
  write_bytes(dir / "withlnet" / "lnet-int8.fam", lnet);
  write_bytes(dir / "withlnet" / "anet-int8.fam", mf::serialize(brightness_anet()));
  write_bytes(dir / "red.png",
              encode_png(faceattr::test::red_boxes_frame(320, 240, {{40, 40, 80, 80}, {200, 120, 64, 64}}),
                         320, 240));
  // Scenes: every listed CelebA row that exists as a red crop; grey (R = G) object photos.
  fs::create_directories(dir / "scenes" / "img");
  fs::create_directories(dir / "scenes" / "objects");
  for (const auto& e : fs::directory_iterator(celeba / "img")) {
    const std::string name = e.path().filename().string();
    if (name == "999999.jpg") continue;
    write_bytes(dir / "scenes" / "img" / name,
                encode_png(faceattr::test::red_boxes_frame(40, 48, {{0, 0, 40, 48}}), 40, 48));
  }
  for (int k = 0; k < 3; ++k) {
    const int w = 100 + 100 * k, h = 80 + 60 * k;
    std::vector<uint8_t> px(size_t(w) * h * 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          px[(size_t(y) * w + x) * 3 + c] = static_cast<uint8_t>((x * 3 + y * 5 + k * 40) % 200);
    write_bytes(dir / "scenes" / "objects" / ("obj" + std::to_string(k) + ".jpg"), encode_jpeg(px, w, h));
  }
  write_text(dir / "scenes" / "objects" / "labels.tsv", "obj0\tgrey\n");
}

// `eval --real-scenes`: images 320x240 with red squares on the 8 px grid of the tiny LNet at
// 160x120 (so each is found as itself); boxes.tsv lists the true faces.
void make_real_scenes(const fs::path& dir) {
  using faceattr::test::red_boxes_frame;
  fs::create_directories(dir / "real" / "images");
  const fs::path img = dir / "real" / "images";
  // PNG bytes under .jpg names (the decoder sniffs the format): exact red.
  write_bytes(img / "maksssksksss2.jpg",
              encode_png(red_boxes_frame(320, 240, {{40, 40, 80, 80}, {200, 120, 64, 64}}), 320, 240));
  write_bytes(img / "maksssksksss3.jpg", encode_png(red_boxes_frame(320, 240, {{96, 64, 48, 48}}), 320, 240));
  write_bytes(img / "maksssksksss4.jpg",
              encode_png(red_boxes_frame(320, 240, {{16, 16, 32, 32}, {160, 96, 48, 48}}), 320, 240));
  write_text(dir / "real" / "boxes.tsv",
             "maksssksksss2.jpg\twith_mask\t40\t40\t80\t80\n"               // IoU 1
             "maksssksksss2.jpg\twithout_mask\t216\t136\t40\t40\n"          // IoU 0.39, lenient
             "maksssksksss3.jpg\twithout_mask\t96\t64\t48\t48\n"            // IoU 1
             "maksssksksss3.jpg\twith_mask\t240\t16\t30\t30\n"              // missed
             "maksssksksss4.jpg\tmask_weared_incorrect\t160\t96\t48\t48\n"  // IoU 1 (16,16,32,32: false face)
             "maksssksksss4.jpg\twith_mask\t200\t200\t28\t28\n"             // missed
             "maksssksksss2.jpg\tmask_weared_incorrect\t10\t200\t16\t16\n");  // < 24 px, missed
  fs::create_directories(dir / "real_bad" / "images");
  write_text(dir / "real_bad" / "boxes.tsv",
             "maksssksksss2.jpg\twith_mask\t40\t40\t80\t80\nmaksssksksss2.jpg\twith_mask\t40\t40\t80\n");
  fs::create_directories(dir / "real_missing" / "images");
  write_text(dir / "real_missing" / "boxes.tsv", "maksssksksss9.jpg\twith_mask\t40\t40\t80\t80\n");
}

// `eval --mtfl`: the canonical box of the landmarks is the square of side 2.8 s (s = eye-mouth =
// eye-eye distance here) centred 0.3 s below the eyes' midpoint.
void make_mtfl(const fs::path& dir) {
  using faceattr::test::red_boxes_frame;
  fs::create_directories(dir / "mtfl" / "imgs");
  const fs::path img = dir / "mtfl" / "imgs";
  write_bytes(img / "a.png", encode_png(red_boxes_frame(320, 240, {{80, 48, 56, 56}}), 320, 240));
  write_bytes(img / "b.png", encode_png(red_boxes_frame(320, 240, {{160, 104, 112, 112}}), 320, 240));
  write_bytes(img / "grey.png", encode_png(red_boxes_frame(320, 240, {}), 320, 240));
  // Landmarks x1..x5 y1..y5 (eyes, nose, mouth corners).
  const std::string a_exact = "98 118 108 101 115 70 70 78 90 90";                 // box 80,48,56,56
  const std::string a_lenient = "112.5 127.5 120 115 125 71.5 71.5 78 86.5 86.5";  // 99,55,42,42: IoU 0.46
  const std::string a_far = "240 260 250 243 257 174 174 182 194 194";             // box 222,152,56,56
  const std::string b_exact = "196 236 216 202 230 148 148 165 188 188";           // box 160,104,112,112
  // path, landmarks, gender smile glasses pose; index 0 is the only dev record.
  write_text(dir / "mtfl" / "training.txt",
             "imgs/a.png " + a_exact + " 2 1 1 3\n" +         // found; all three right
                 "imgs/a.png " + a_lenient + " 1 2 2 2\n" +   // found leniently only; all three wrong
                 "imgs/grey.png " + a_exact + " 2 1 2 3\n" +  // no face: missed
                 "imgs/a.png " + a_far + " 1 1 1 1\n" +       // missed
                 "imgs/b.png " + b_exact + " 2 1 2 4\n" +     // found; Eyeglasses wrong
                 "imgs/a.png " + a_exact + " 1 1 2 3\n");     // found; Male, Eyeglasses wrong
  write_text(dir / "mtfl" / "training_bad.txt",
             "imgs/a.png " + a_exact + " 2 1 1 3\nimgs/a.png " + a_exact + " 2 1 1 7\n");
  write_text(dir / "mtfl" / "training_missing.txt", "imgs/nope.png " + a_exact + " 2 1 1 3\n");
}

// `eval --utkface`: labels in the names, Male = gender 0; every count and accuracy per age band
// and race group follows from the colour (tests/native.cmake holds them).
void make_utkface(const fs::path& dir) {
  const fs::path utk = dir / "utkface";
  fs::create_directories(utk);
  fs::create_directories(dir / "utkface_empty");
  auto chip = [&](const std::string& name, uint8_t r, uint8_t g, uint8_t b) {
    std::vector<uint8_t> px(size_t{200} * 200 * 3);
    for (size_t i = 0; i < px.size(); i += 3) px[i] = r, px[i + 1] = g, px[i + 2] = b;
    write_bytes(utk / name, encode_png(px, 200, 200));  // PNG bytes: exact colours
  };
  const auto red = [&](const std::string& n) { chip(n, 255, 0, 0); };        // face, Male no
  const auto magenta = [&](const std::string& n) { chip(n, 255, 0, 255); };  // face, Male yes

  magenta("25_0_0_20170101000000001.jpg.chip.jpg");              // man, 20-39, White: right
  red("30_1_0_20170101000000002.jpg.chip.jpg");                  // woman, 20-39, White: right
  red("8_0_1_20170101000000003.jpg.chip.jpg");                   // boy, 0-12, Black: wrong
  magenta("15_1_2_20170101000000004.jpg.chip.jpg");              // girl, 13-19, Asian: wrong
  magenta("45_0_3_20170101000000005.jpg.chip.jpg");              // man, 40-59, Indian: right
  chip("70_0_4_20170101000000006.jpg.chip.jpg", 192, 192, 192);  // man, 60+, Others: no face
  red("62_1_4_20170101000000007.jpg.chip.jpg");                  // woman, 60+, Others: right
  red("39_1_20170116174525125.jpg.chip.jpg");                    // no race: not in the pattern
  write_text(utk / "notes.txt", "not a chip\n");
}

void make_decode(const fs::path& dir) {
  fs::create_directories(dir);
  const auto white = solid_rgb(24, 16, 255);
  const auto jpeg = encode_jpeg(white, 24, 16);
  write_bytes(dir / "rotated.jpg",
              faceattr::test::with_app1(jpeg, faceattr::test::exif_orientation_block(6, true)));
  std::vector<uint8_t> bad_exif = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0xFF, 0xFF, 0xFF, 0xF0};
  write_bytes(dir / "bad-exif.jpg", faceattr::test::with_app1(jpeg, bad_exif));
  const std::vector<uint8_t> no_ink(size_t{24} * 16 * 4, 255);  // Adobe CMYK is stored inverted
  write_bytes(dir / "cmyk.jpg", faceattr::test::jpeg_from_cmyk(no_ink, 24, 16, false, true));
  const auto webp = faceattr::test::webp_lossless(white, 24, 16);
  write_bytes(dir / "white.webp", webp);
  write_bytes(dir / "truncated.webp", std::vector<uint8_t>(webp.begin(), webp.begin() + webp.size() / 2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    fs::remove_all(dir);
    fs::create_directories(dir);
    make_models(dir);
    make_images(dir);
    make_celeba(dir / "celeba");
    make_lnet(dir / "lnet", dir / "celeba");
    make_decode(dir / "decode");
    make_real_scenes(dir / "lnet");
    make_mtfl(dir / "lnet");
    make_utkface(dir / "lnet");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fixtures: %s\n", e.what());
    return 1;
  }
  return 0;
}
