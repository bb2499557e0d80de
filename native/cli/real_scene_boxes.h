// The face boxes of `faceattr eval --real-scenes DIR` (DIR/boxes.tsv; docs/cli.md,
// "eval on real scenes"): one face per line, "image<TAB>label<TAB>x<TAB>y<TAB>w<TAB>h"
// (integers, w and h > 0), CRLF or LF, blank lines skipped.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "eval_match.h"

namespace faceattr::cli {

struct TrueFace {
  std::string label;
  Box box;
};

struct SceneImage {
  std::string name;
  std::string where;  // "boxes.tsv:LINE" of its first box
  std::vector<TrueFace> faces;
};

// The images of the file at `path`, in order of their first box; throws Error
// naming the file and line on a malformed line, and when there is no box.
std::vector<SceneImage> read_boxes(const std::string& path);

// Same, from a stream; `path` is used in messages.
std::vector<SceneImage> parse_boxes(std::istream& in, const std::string& path);

}  // namespace faceattr::cli
