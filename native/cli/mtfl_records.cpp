// MTFL's annotation file (mtfl_records.h): records in file order, blank lines
// skipped; the dev/train split.
#include "mtfl_records.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "cli_common.h"

namespace faceattr::cli {

std::vector<MtflRecord> parse_mtfl(std::istream& in, const std::string& path) {
  std::vector<MtflRecord> out;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ss(line);
    std::vector<std::string> tok;
    for (std::string t; ss >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    MtflRecord r;
    r.where = path + ":" + std::to_string(line_no);
    bool ok = tok.size() == 15;
    auto num = [&](const std::string& s, auto& v) {
      const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
      ok = ok && res.ec == std::errc() && res.ptr == s.data() + s.size();
    };
    int label[4] = {0, 0, 0, 0};
    if (ok) {
      r.path = tok[0];
      for (int k = 0; k < 5; ++k) num(tok[1 + k], r.lx[k]), num(tok[6 + k], r.ly[k]);
      for (int k = 0; k < 4; ++k) num(tok[11 + k], label[k]);
    }
    for (int k = 0; ok && k < 3; ++k) ok = label[k] == 1 || label[k] == 2;
    ok = ok && label[3] >= 1 && label[3] <= 5;
    if (!ok)
      throw Error(r.where +
                  ": expected 'path x1..x5 y1..y5 gender smile glasses pose' (gender, smile, glasses 1 or 2; "
                  "pose 1-5)");
    r.male = label[0] == 1;
    r.smiling = label[1] == 1;
    r.glasses = label[2] == 1;
    r.pose = label[3];
    out.push_back(std::move(r));
  }
  if (in.bad()) throw Error("cannot read MTFL file '" + path + "'");
  if (out.empty()) throw Error("no records in MTFL file '" + path + "'");
  return out;
}

std::vector<MtflRecord> read_mtfl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open MTFL file '" + path + "'");
  return parse_mtfl(in, path);
}

std::vector<MtflRecord> mtfl_split(std::vector<MtflRecord> all, const std::string& split, int64_t limit,
                                   const std::string& path) {
  std::vector<MtflRecord> recs;
  for (size_t i = 0; i < all.size(); ++i) {
    if (split == "dev" && i % 10 != 0) continue;
    if (split == "train" && i % 10 == 0) continue;
    if (limit > 0 && static_cast<int64_t>(recs.size()) >= limit) break;
    recs.push_back(std::move(all[i]));
  }
  if (recs.empty()) throw Error("no records of split '" + split + "' in '" + path + "'");
  return recs;
}

}  // namespace faceattr::cli
