#include "engine/splits.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "data/celeba.h"
#include "data/folders.h"

namespace faceattr::train {

FaceFrame lfw_face_frame() {
  FaceFrame f;
  f.centre = false;
  f.cx = 0.5f;
  f.cy = 0.47f;
  f.w = 0.72f;
  return f;
}

AttributeSplits make_attribute_splits(const Options& o) {
  std::vector<std::string> folders{o.celeba_images};
  if (!o.celeba_extra_images.empty()) folders.push_back(o.celeba_extra_images);
  CelebaSet cs = load_celeba(o.celeba_anno, folders);
  AttributeSplits s;
  s.attribute_names = cs.attribute_names;
  int used = 0;
  const int max_partition = std::clamp(o.celeba_max_partition, 0, 1);  // the test split's people stay unseen
  for (auto& im : cs.images) {
    if (im.partition > max_partition) continue;
    if (o.max_images > 0 && used >= o.max_images) break;
    ++used;
    Sample smp;
    smp.path = im.path;
    smp.attrs = im.attrs;
    const bool is_val = o.val_identity_mod > 0 && im.identity >= 0 && im.identity % o.val_identity_mod == 0;
    if (is_val) {
      s.val.samples.push_back(std::move(smp));
    } else {
      s.train.samples.push_back(std::move(smp));
      s.train_identity.push_back(im.identity);
    }
  }
  if (s.train.samples.empty())
    throw std::runtime_error("no CelebA training images found in " + o.celeba_images);
  if (s.val.samples.empty()) throw std::runtime_error("validation split is empty (val_identity_mod?)");
  s.train.init_cache(o.cache_images);
  s.val.init_cache(o.cache_images);
  return s;
}

IdentitySet make_identity_set(const Options& o, const AttributeSplits& splits) {
  IdentitySet r;
  LfwSet lfw = load_lfw(o.lfw_dir, o.lfw_min_images);
  for (const auto& im : lfw.images) {
    Sample s;
    s.path = im.path;
    s.frame = lfw_face_frame();
    s.label = im.label;
    r.data.samples.push_back(std::move(s));
  }
  r.n_lfw_classes = static_cast<int>(lfw.people.size());
  std::map<int, std::vector<size_t>> by_id;
  for (size_t i = 0; i < splits.train.samples.size(); ++i)
    if (splits.train_identity[i] >= 0) by_id[splits.train_identity[i]].push_back(i);
  int next = r.n_lfw_classes;
  for (const auto& [id, idx] : by_id) {
    if (idx.size() < 2) continue;
    for (size_t i : idx) {
      Sample s;
      s.path = splits.train.samples[i].path;
      s.label = next;
      r.data.samples.push_back(std::move(s));
    }
    ++next;
    ++r.n_celeba_classes;
  }
  r.n_classes = next;
  r.data.init_cache(o.cache_images);
  return r;
}

}  // namespace faceattr::train
