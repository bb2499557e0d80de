// MTFL's annotation file (README-MTFL.txt): one face per line, "path x1..x5
// y1..y5 gender smile glasses pose"; landmarks in MTFL order (left eye, right
// eye, nose, left mouth corner, right mouth corner). Read by `faceattr eval
// --mtfl` and `faceattr explain --mtfl`; their --split dev is every 10th record
// (index % 10 == 0), train the rest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

#include "eval_run.h"
#include "image_decode.h"

namespace faceattr::cli {

struct MtflRecord {
  std::string path;   // relative to the file's folder
  std::string where;  // "FILE:LINE"
  float lx[5], ly[5];
  bool male, smiling, glasses;
  int pose;  // 1 left profile, 2 left, 3 frontal, 4 right, 5 right profile
};

// Records of `path` in file order (blank lines skipped); throws Error on a malformed line.
std::vector<MtflRecord> read_mtfl(const std::string& path);
// Same, from a stream; `path` is used in messages.
std::vector<MtflRecord> parse_mtfl(std::istream& in, const std::string& path);
// The records of `split` (all | dev | train), at most `limit` (> 0); throws Error when none
// (`path` names the file).
std::vector<MtflRecord> mtfl_split(std::vector<MtflRecord> all, const std::string& split, int64_t limit,
                                   const std::string& path);

// A record's image (under `root`) through the full pipeline: the faces found, the one with the
// largest IoU with the record's landmark box (face_box.h; -1 when none overlaps), that IoU,
// and whether it passes the lenient rule (eval_match.h).
struct MtflFaces {
  std::vector<FoundFace> found;
  int best = -1;
  double iou = 0;
  bool lenient = false;
};
MtflFaces mtfl_faces(faceattr_session* session, ImageDecoder& decoder, const std::filesystem::path& root,
                     const MtflRecord& r, size_t n_attr);

}  // namespace faceattr::cli
