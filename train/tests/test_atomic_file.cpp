// util/atomic_file.h: atomic writes replace whole files, a set of files is written
// together, and only temp-file names are removed as stale. (The kill hook itself is
// exercised by the trainer_kill_resume test, which SIGKILLs the trainer.)
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "util/atomic_file.h"

namespace fs = std::filesystem;
namespace ft = faceattr::train;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("faceattr_atomic_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST_CASE("write_file_atomic replaces the whole file and leaves no temp file", "[atomic_file]") {
  const fs::path d = fresh_dir("one");
  const std::string p = (d / "a.bin").string();
  ft::write_file_atomic(p, std::string(1000, 'x'));
  CHECK(slurp(p) == std::string(1000, 'x'));
  ft::write_file_atomic(p, "short");
  CHECK(slurp(p) == "short");
  ft::write_file_atomic(p, "");
  CHECK(slurp(p).empty());
  CHECK_FALSE(fs::exists(p + ".tmp"));
  CHECK_THROWS_WITH(ft::write_file_atomic((d / "missing" / "b.bin").string(), "x"),
                    Catch::Contains("cannot create"));
  fs::remove_all(d);
}

TEST_CASE("write_files_atomic writes every file", "[atomic_file]") {
  const fs::path d = fresh_dir("set");
  const std::vector<uint8_t> bytes = {0, 1, 2, 255};
  ft::write_files_atomic({{(d / "m.fam").string(), ft::as_bytes(bytes)}, {(d / "m.json").string(), "{}\n"}});
  CHECK(slurp(d / "m.fam") == std::string("\x00\x01\x02\xff", 4));
  CHECK(slurp(d / "m.json") == "{}\n");
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 2);
  fs::remove_all(d);
}

TEST_CASE("remove_stale_temps removes only temp-file names", "[atomic_file]") {
  const fs::path d = fresh_dir("stale");
  for (const char* name : {"a.pt.tmp", "state.json.tmp", "m.fam.tmp.1234", "keep.pt", "keep.tmp.x", "tmpfile",
                           "keep.tmp.", ".tmp"})
    std::ofstream(d / name) << "partial";
  fs::create_directories(d / "sub.tmp");  // folders are left alone
  CHECK(ft::remove_stale_temps(d.string()) == 3);
  for (const char* name : {"keep.pt", "keep.tmp.x", "tmpfile", "keep.tmp.", ".tmp", "sub.tmp"})
    CHECK(fs::exists(d / name));
  for (const char* name : {"a.pt.tmp", "state.json.tmp", "m.fam.tmp.1234"}) CHECK_FALSE(fs::exists(d / name));
  CHECK(ft::remove_stale_temps((d / "no-such-folder").string()) == 0);
  fs::remove_all(d);
}
