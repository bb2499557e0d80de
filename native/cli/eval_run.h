// Pieces the `faceattr eval` modes share: the faces a session finds in an
// image, worker sessions run in parallel, the composed-scene mode (--scenes),
// the localiser-only modes (--real-scenes, --mtfl) and the UTKFace mode
// (--utkface; docs/cli.md).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "celeba_attrs.h"
#include "cli_common.h"
#include "eval_attrs.h"
#include "progress.h"

namespace faceattr::cli {

// One face of faceattr_session_predict, copied out of the session.
struct FoundFace {
  float box[4];
  float score;
  std::vector<float> probs;
};

// The full pipeline on `img`: the faces found, strongest first.
inline std::vector<FoundFace> predict_faces(faceattr_session* s, const faceattr_image& img, size_t n_attr,
                                            const std::string& what) {
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  faceattr_status st = faceattr_session_predict(s, &img, &faces, &n);
  if (st != FACEATTR_OK) throw_api_error("cannot predict " + what, st);
  std::vector<FoundFace> out(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    std::copy(faces[i].box, faces[i].box + 4, out[i].box);
    out[i].score = faces[i].score;
    out[i].probs.assign(faces[i].probs, faces[i].probs + n_attr);
  }
  return out;
}

// Runs fn(worker, item) for items [0, n) on one thread per session, with a progress bar;
// the first exception stops the others and is rethrown as Error.
template <typename Fn>
void run_parallel(size_t n, std::vector<Session>& sessions, const char* label, Fn fn) {
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::string error;
  auto worker = [&](size_t w) {
    try {
      for (size_t i = next++; i < n && !failed; i = next++) {
        fn(w, i);
        ++done;
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!failed) error = e.what();
      failed = true;
    }
  };
  {
    Progress progress(static_cast<int64_t>(n), label);
    std::vector<std::thread> threads;
    for (size_t w = 0; w < sessions.size(); ++w) threads.emplace_back(worker, w);
    while (done < n && !failed) {
      progress.update(static_cast<int64_t>(done));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (std::thread& t : threads) t.join();
    if (!failed) progress.update(static_cast<int64_t>(done));
  }
  if (failed) throw Error(error);
}

// Options of `faceattr eval --images DIR --attrs FILE --scenes N`.
struct SceneEvalOptions {
  std::string images_dir;
  int64_t scenes = 0;
  std::string objects;  // empty: <images>/../../objects (the ../shared/data layout)
  uint32_t seed = 1;
  std::string save_scenes;
  std::string objects_split = "held-out";
  bool json = false;
};

// `faceattr eval --scenes N`: scenes composed from the evaluation images (pasted whole) on
// object photos; localisation (IoU >= 0.5 with the pasted rectangle) and attribute accuracy
// of the whole pipeline on found faces, next to ANet on the pasted rectangle and on the
// original image. `rows`: the rows of `table` whose image is in the folder; `sessions`: one
// per worker, with an LNet.
int run_scene_eval(const SceneEvalOptions& o, const AttrTable& table, const std::vector<size_t>& rows,
                   const ModelFiles& models, std::vector<Session>& sessions,
                   const std::vector<std::string>& model_names, const std::vector<float>& thresholds,
                   const std::vector<AttrMatch>& matches);

// Options of the localiser-only modes.
struct LocaliserEvalOptions {
  CommonOptions common;
  std::string path;           // --real-scenes DIR or --mtfl FILE
  std::string split = "all";  // all | dev | train
  int64_t limit = 0;          // > 0: the first N items of the split
  bool json = false;
};

// `faceattr eval --real-scenes DIR`: recall and false faces on real photos with face boxes.
int run_real_scenes_eval(const LocaliserEvalOptions& o);
// `faceattr eval --mtfl FILE`: faces found and Male/Smiling/Eyeglasses on MTFL photos.
int run_mtfl_eval(const LocaliserEvalOptions& o);
// `faceattr explain --mtfl FILE`: where the Smiling and Eyeglasses peaks fall on MTFL faces.
int run_explain_peaks(const LocaliserEvalOptions& o);

// Options of `faceattr eval --utkface DIR`.
struct UtkfaceEvalOptions {
  CommonOptions common;
  std::string dir;            // the chips, age_gender_race_datetime.jpg.chip.jpg
  std::string split = "all";  // all | dev | train (utkface_groups.h: utkface_is_dev)
  int64_t limit = 0;          // > 0: the first N chips of the split, name order
  bool json = false;
};

// `faceattr eval --utkface DIR`: faces found and Male accuracy on UTKFace chips, overall, for
// adults, by age band, race group and sex, per race x age band x sex cell, with bootstrap
// intervals, the worst groups and the children's confidence; runs with the session's defaults
// (the localiser when there is one, else the whole image as the face).
int run_utkface_eval(const UtkfaceEvalOptions& o);

// Faces smaller than this (box height, px) are not counted by the localiser modes.
inline constexpr double kMinCountedFace = 24.0;

// Loads the models (the LNet is required: --lnet, else lnet-int8.fam beside the ANet) and
// creates min(--threads, n_items) sessions.
std::vector<Session> localiser_sessions(const CommonOptions& common, size_t n_items, const char* mode,
                                        ModelFiles& models);

}  // namespace faceattr::cli
