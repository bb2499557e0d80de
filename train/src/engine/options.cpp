#include "engine/options.h"

namespace faceattr::train {

// clang-format off: one field per line (clang-format reflows X-macro lists unstably).
#define FA_FIELDS(X)      \
  X(data_root)            \
  X(celeba_anno)          \
  X(celeba_images)        \
  X(celeba_extra_images)  \
  X(celeba_max_partition) \
  X(utkface_dir)          \
  X(lfw_dir)              \
  X(objects_dir)          \
  X(val_identity_mod)     \
  X(max_images)           \
  X(lfw_min_images)       \
  X(run_dir)              \
  X(device)               \
  X(threads)              \
  X(workers)              \
  X(seed)                 \
  X(resume)               \
  X(cache_images)         \
  X(max_steps)            \
  X(world_size)           \
  X(rank)                 \
  X(master)               \
  X(dist_timeout)         \
  X(sync_bn)              \
  X(bucket_kb)            \
  X(width_mult)           \
  X(dropout)              \
  X(batch_size)           \
  X(pretrain_epochs)      \
  X(pretrain_lr)          \
  X(pretrain_loss)        \
  X(pretrain_margin)      \
  X(pretrain_scale)       \
  X(finetune_epochs)      \
  X(finetune_lr)          \
  X(weight_decay)         \
  X(label_smoothing)      \
  X(pos_weighting)        \
  X(init)                 \
  X(out_dir)              \
  X(model_name)           \
  X(calib_images)         \
  X(calib_percentile)     \
  X(int8_weight_bits)     \
  X(from_model)           \
  X(head)                 \
  X(accuracy_thresholds)  \
  X(lnet_input_width)     \
  X(lnet_input_height)    \
  X(lnet_train_width)     \
  X(lnet_train_height)    \
  X(lnet_width_mult)      \
  X(lnet_batch)           \
  X(lnet_pretrain_epochs) \
  X(lnet_pretrain_steps)  \
  X(lnet_pretrain_lr)     \
  X(lnet_epochs)          \
  X(lnet_steps)           \
  X(lnet_lr)              \
  X(lnet_pool)            \
  X(lnet_lse_r)           \
  X(lnet_face_weight)     \
  X(box_supervision)      \
  X(lnet_map)             \
  X(lnet_init)            \
  X(lnet_val_scenes)      \
  X(lnet_max_lfw)         \
  X(lnet_max_celeba)      \
  X(lnet_calib_scenes)    \
  X(lnet_name)            \
  X(lnet_large_face_prob) \
  X(lnet_large_face_max)  \
  X(lnet_val_large)       \
  X(lnet_init_keep_head)  \
  X(lnet_val_tune_large)  \
  X(lnet_coarse_pass)     \
  X(lnet_size_model)      \
  X(lnet_hide_prob)       \
  X(lnet_hide_patch)      \
  X(lnet_face_min)        \
  X(lnet_face_max)        \
  X(lnet_pyramid_levels)  \
  X(lnet_pyramid_factor)  \
  X(loc_input_width)      \
  X(loc_input_height)     \
  X(loc_width_mult)       \
  X(loc_batch)            \
  X(loc_epochs)           \
  X(loc_steps)            \
  X(loc_lr)               \
  X(loc_max_mtfl)         \
  X(loc_max_celeba)       \
  X(loc_calib)            \
  X(loc_offset_range)     \
  X(loc_box_min)          \
  X(loc_box_max)          \
  X(loc_crop_w)           \
  X(loc_crop_h)           \
  X(loc_crop_dy)          \
  X(loc_init)             \
  X(joint_lnet)           \
  X(joint_epochs)         \
  X(joint_utk_repeat)     \
  X(joint_child_age)      \
  X(joint_lr)             \
  X(joint_teacher)        \
  X(joint_distill)        \
  X(joint_pseudo)         \
  X(joint_lfw)

#define FA_AUG(X)  \
  X(scale_min)     \
  X(scale_max)     \
  X(aspect_jitter) \
  X(shift)         \
  X(flip)          \
  X(brightness)    \
  X(contrast)      \
  X(saturation)    \
  X(hue_gain)      \
  X(gray_prob)     \
  X(blur_prob)
// clang-format on

void to_json(nlohmann::json& j, const Options& o) {
#define X(f) j[#f] = o.f;
  FA_FIELDS(X)
#undef X
  j["input_width"] = o.input.width;
  j["input_height"] = o.input.height;
  j["mean"] = std::vector<float>(o.input.mean, o.input.mean + 3);
  j["std"] = std::vector<float>(o.input.std, o.input.std + 3);
  auto& a = j["augment"];
#define X(f) a[#f] = o.augment.f;
  FA_AUG(X)
#undef X
}

void from_json(const nlohmann::json& j, Options& o) {
#define X(f) \
  if (j.contains(#f)) j.at(#f).get_to(o.f);
  FA_FIELDS(X)
#undef X
  if (j.contains("input_width")) j.at("input_width").get_to(o.input.width);
  if (j.contains("input_height")) j.at("input_height").get_to(o.input.height);
  for (int c = 0; c < 3; ++c) {
    if (j.contains("mean")) o.input.mean[c] = j.at("mean").at(c).get<float>();
    if (j.contains("std")) o.input.std[c] = j.at("std").at(c).get<float>();
  }
  if (j.contains("augment")) {
    const auto& a = j.at("augment");
#define X(f) \
  if (a.contains(#f)) a.at(#f).get_to(o.augment.f);
    FA_AUG(X)
#undef X
  }
}

void resolve_paths(Options& o) {
  if (o.data_root.empty()) o.data_root = FACEATTR_DEFAULT_DATA_DIR;
  if (o.celeba_anno.empty()) o.celeba_anno = o.data_root + "/celeba/anno";
  if (o.celeba_images.empty()) o.celeba_images = o.data_root + "/celeba/img_align_89x109";
  if (o.celeba_extra_images == "auto") o.celeba_extra_images = o.data_root + "/celeba/img_align_89x109_extra";
  if (o.utkface_dir == "auto") o.utkface_dir = o.data_root + "/utkface";
  if (o.joint_lfw == "auto") o.joint_lfw = o.data_root + "/lfw";
  if (o.lfw_dir.empty()) o.lfw_dir = o.data_root + "/lfw";
  if (o.objects_dir.empty()) o.objects_dir = o.data_root + "/objects";
}

}  // namespace faceattr::train
