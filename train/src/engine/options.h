// Every trainer setting, settable from flags or a JSON config file (flags win).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/augment.h"

namespace faceattr::train {

struct Options {
  // Data (empty: derived from data_root).
  std::string data_root;
  std::string celeba_anno, celeba_images, lfw_dir, objects_dir;
  int val_identity_mod = 10;  // identities with id % mod == 0 form the validation split
  int max_images = 0;         // >0: use only the first N CelebA images (smoke tests)
  int lfw_min_images = 2;
  // CelebA aligned images beyond `celeba_images`: "" none, "auto" the data's
  // celeba/img_align_89x109_extra, else a folder. Attribute training uses official
  // partitions 0..celeba_max_partition (0 train; 1 adds the official val split, whose
  // people are disjoint from the test split's).
  std::string celeba_extra_images;
  int celeba_max_partition = 0;
  // UTKFace chips of the train split in joint fine-tuning (Male; Young from the age),
  // each head trained only on the labels its source has: "" off, "auto" the data's utkface/.
  std::string utkface_dir;

  // Run.
  std::string run_dir = "runs/anet";
  std::string device = "auto";  // auto | cpu | cuda
  int threads = 2;
  int workers = 2;
  uint64_t seed = 20150901;
  bool resume = false;
  bool cache_images = true;
  int max_steps = 0;  // >0: stop each epoch after N steps (smoke tests)

  // Distributed data parallel (engine/dist.h; train/README.md "Distributed training").
  // Batch sizes stay global: each of the world_size ranks takes 1/world_size of a batch.
  int world_size = 1;
  int rank = 0;
  std::string master = "127.0.0.1:29500";  // rank 0's TCPStore, HOST:PORT
  double dist_timeout = 300;               // seconds: rendezvous and every collective
  bool sync_bn = false;                    // BatchNorm over the global batch (else each rank's share)
  int bucket_kb = 1024;                    // gradient all-reduce bucket size

  // Model / input.
  float width_mult = 1.0f;
  InputSpec input;
  double dropout = 0.2;

  // Optimisation (per stage; see stages).
  int batch_size = 64;
  int pretrain_epochs = 8;
  double pretrain_lr = 3e-3;
  // Identity pre-training's loss: softmax (cross-entropy with label_smoothing) or
  // cosface (large-margin cosine: s * (cos(theta) - m) for the true identity, on
  // normalised features and class weights).
  std::string pretrain_loss = "softmax";
  double pretrain_margin = 0.35, pretrain_scale = 30.0;
  int finetune_epochs = 14;
  double finetune_lr = 2e-3;
  double weight_decay = 5e-4;
  double label_smoothing = 0.1;
  std::string pos_weighting = "sqrt";  // none | sqrt | full  (BCE positive weight = (neg/pos)^p)
  std::string init;  // finetune: pre-trained checkpoint ("" = none, "auto" = run_dir/pretrain)
  AugmentSpec augment;

  // Export.
  std::string out_dir = "models";
  std::string model_name = "anet";
  int calib_images = 512;
  double calib_percentile = 99.99;
  // int8 weight bits (8: [-127, 127]; 7: [-64, 64], so that an AVX2 kernel may multiply
  // uint8 activations by them with vpmaddubsw without saturating; ORT's "reduce_range").
  int int8_weight_bits = 8;
  std::string from_model;     // export: re-export this fp32 .fam's network instead of run_dir's checkpoint
  std::string head = "auto";  // auto (better on validation) | finetuned | linear
  // export: the accuracy policy's thresholds: "fitted" (per attribute, maximising validation
  // accuracy), "half" (0.5 on the Platt-calibrated probability) or "auto" (whichever scores
  // higher on validation out of sample, 2-fold).
  std::string accuracy_thresholds = "auto";

  // LNet (lnet-* stages; train/README.md "LNet").
  int lnet_input_width = 160, lnet_input_height = 120;
  int lnet_train_width = 128, lnet_train_height = 96;  // training scene size (faces at full scale)
  float lnet_width_mult = 0.75f;
  int lnet_batch = 32;
  int lnet_pretrain_epochs = 2, lnet_pretrain_steps = 80;  // steps per epoch
  double lnet_pretrain_lr = 3e-3;
  int lnet_epochs = 16, lnet_steps = 300;
  double lnet_lr = 2e-3;
  std::string lnet_pool = "lse";   // lse | max | mean: image-level pooling of the tag maps
  double lnet_lse_r = 4.0;         // log-sum-exp sharpness
  double lnet_face_weight = 4.0;   // the face tag's weight among the 40 attribute tags
  bool box_supervision = false;    // per-cell face targets from the pasted boxes (comparison only)
  std::string lnet_map = "auto";   // exported response: auto | face | mean (average of the tag maps)
  std::string lnet_init = "auto";  // lnet: pre-trained body ("auto" = run_dir/lnet-pretrain, "" = none)
  int lnet_val_scenes = 1000;
  int lnet_max_lfw = 3000, lnet_max_celeba = 0;
  int lnet_calib_scenes = 256;
  std::string lnet_name = "lnet";
  // Large, frame-filling faces (webcam framing): share of training faces drawn
  // 0.45..lnet_large_face_max of the frame height, possibly cut by the border
  // (0 = the old 14-84 px range only), and large-face validation scenes.
  double lnet_large_face_prob = 0.0;
  double lnet_large_face_max = 1.1;
  int lnet_val_large = 0;
  bool lnet_val_tune_large = false;  // the large-face scenes also tune the decoder (else: reported only)
  bool lnet_init_keep_head = false;  // lnet_init is a trained LNet: keep its tag head (fine-tuning)
  // Export: a decoder with the coarse pass (LNet also on the frame at half size, for large
  // faces: lnet.half_threshold, lnet.half_box_scale); false = one pass.
  bool lnet_coarse_pass = false;
  bool lnet_size_model = false;  // with lnet_coarse_pass: the size model (else region-area sizes)
  // Hide-and-Seek (Singh & Lee, ICCV 2017) during lnet-train: each training scene is cut into a
  // grid of square patches (side drawn per scene from lnet_hide_patch, training-scene pixels; 0 =
  // that scene is left whole) and each patch is set to the normalised mean (0) with probability
  // lnet_hide_prob, so that the tags must also be read from the less telling parts of a face.
  // Labels unchanged; validation/export scenes never hidden. 0 = off (scenes as before).
  double lnet_hide_prob = 0.0;
  std::vector<int> lnet_hide_patch = {0, 8, 16, 24};
  // Width range of the (ordinary, not large) training faces in network-input pixels, drawn
  // log-uniform. The default 14-84 covers the protocol's 24-70 at one scale; a narrow band
  // (e.g. 22-36) trains a scale-selective net for the image-pyramid decoder (export with
  // lnet_pyramid_levels > 1), whose levels bring every face size into the band.
  double lnet_face_min = 14.0, lnet_face_max = 84.0;
  // Export: image pyramid of the frame, lnet_pyramid_levels levels (1 = the plain decoder), each
  // lnet_pyramid_factor times smaller than the one before.
  int lnet_pyramid_levels = 1;
  double lnet_pyramid_factor = 1.41421356;

  // Box-supervised localiser (loc-* stages; train/README.md "Localiser"): a dense box map
  // at stride 16, trained on real photos (MTFL, half of scenes_real), CelebA faces pasted
  // on object photos at every scale, and face-free photos.
  int loc_input_width = 256, loc_input_height = 192;
  float loc_width_mult = 1.0f;
  int loc_batch = 32;
  int loc_epochs = 8, loc_steps = 300;
  double loc_lr = 2e-3;
  int loc_max_mtfl = 0, loc_max_celeba = 0;        // caps on the pools (0 = all)
  int loc_calib = 256;                             // int8 calibration canvases
  float loc_offset_range = 2.0f;                   // lnet.offset_range (cells)
  float loc_box_min = 6.0f, loc_box_max = 384.0f;  // lnet.box_min / box_max (input pixels)
  // ANet framing of a face box (lnet.crop_*): the crop is crop_w x crop_h box sides, its
  // centre crop_dy sides below the box centre.
  float loc_crop_w = 1.52f, loc_crop_h = 1.9f, loc_crop_dy = -0.12f;
  std::string loc_init;  // loc-train: start from this checkpoint ("" = from scratch)

  // anet-joint: fine-tunes the ANet of --from-model on the crops that this localiser
  // (an LNet .fam) cuts from the training images (train/README.md "Joint fine-tuning").
  std::string joint_lnet = "models/lnet-int8.fam";
  int joint_epochs = 3;
  int joint_utk_repeat = 1;  // anet-joint: each UTKFace training chip appears this many times per epoch
  // anet-joint: UTKFace training chips younger than this teach Male = 0.5 (a young child's
  // face rarely shows its sex: the model should be unsure there); 0: every chip its own sex.
  int joint_child_age = 0;
  double joint_lr = 3e-4;
  // anet-joint with a teacher (an fp32 ANet .fam of any width and input size with the
  // student's aspect; several, comma-separated and of one input size, form an ensemble whose
  // probability is the mean of theirs): every training view also gets the teacher's
  // probabilities q on that same view (rendered at the teacher's size). Soft
  // distillation (joint_pseudo == 0): loss = masked labelled BCE + joint_distill x BCE(student
  // logits, q) over all 40 attributes of every face. Pseudo-labels (joint_pseudo = c in
  // (0.5, 1)): an attribute a face's source does not label gets the label q >= 0.5 where the
  // teacher is confident (q >= c or q <= 1 - c), else stays masked.
  std::string joint_teacher;
  double joint_distill = 1.0;
  double joint_pseudo = 0.0;
  // Unlabelled faces for anet-joint (they learn only from the teacher): "" none, "auto" the
  // data's lfw/ (every image; LFW is not used for validation).
  std::string joint_lfw;
};

void to_json(nlohmann::json& j, const Options& o);
void from_json(const nlohmann::json& j, Options& o);  // missing keys keep their value

// Fills the derived paths from data_root.
void resolve_paths(Options& o);

}  // namespace faceattr::train
