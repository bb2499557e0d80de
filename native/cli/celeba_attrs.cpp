#include "celeba_attrs.h"

#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "cli_common.h"

namespace faceattr::cli {

namespace {

std::string read_maybe_gzip(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(std::string("cannot open ") + what + " '" + path + "': " +
                (std::filesystem::exists(path, ec) ? "not a regular file" : "No such file or directory"));
  }
  // gzread passes plain files through unchanged, so one path reads both.
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(std::string("cannot open ") + what + " '" + path + "': " + std::strerror(errno));
  std::string text;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw Error(std::string("cannot read ") + what + " '" + path + "': " + msg);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int code = 0;
  const char* msg = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    std::string m = msg;
    gzclose(f);
    throw Error(std::string("cannot read ") + what + " '" + path + "': " + m);
  }
  gzclose(f);
  return text;
}

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.emplace_back(line, start, i - start);
  }
  return out;
}

// Calls fn(line_number, fields) for each line of `text` with a field (1-based line
// numbers; LF or CRLF; fields split on spaces and tabs).
template <class Fn>
void for_each_line(const std::string& text, Fn fn) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::vector<std::string> tok = split_ws(line);
    if (!tok.empty()) fn(line_no, tok);
  }
}

}  // namespace

AttrTable parse_celeba_attrs(const std::string& text, const std::string& name) {
  AttrTable t;
  long long declared = -1;
  for_each_line(text, [&](size_t line_no, const std::vector<std::string>& tok) {
    auto fail = [&](const std::string& why) -> Error {
      return Error("attribute file '" + name + "' line " + std::to_string(line_no) + ": " + why);
    };
    if (declared < 0) {
      char* rest = nullptr;
      declared = std::strtoll(tok[0].c_str(), &rest, 10);
      if (tok.size() != 1 || *rest != '\0' || declared < 0) throw fail("expected the image count");
      return;
    }
    if (t.names.empty()) {
      t.names = tok;
      return;
    }
    if (tok.size() != t.names.size() + 1) {
      throw fail("expected an image name and " + std::to_string(t.names.size()) + " values, found " +
                 std::to_string(tok.size()) + " fields");
    }
    t.images.push_back(tok[0]);
    for (size_t i = 1; i < tok.size(); ++i) {
      if (tok[i] == "1") {
        t.labels.push_back(1);
      } else if (tok[i] == "-1") {
        t.labels.push_back(-1);
      } else {
        throw fail("value '" + tok[i] + "' for " + t.names[i - 1] + " is not 1 or -1");
      }
    }
  });
  if (declared < 0) throw Error("attribute file '" + name + "' is empty");
  if (t.names.empty()) throw Error("attribute file '" + name + "' has no attribute names line");
  if (static_cast<long long>(t.images.size()) != declared) {
    throw Error("attribute file '" + name + "' declares " + std::to_string(declared) + " images but lists " +
                std::to_string(t.images.size()));
  }
  return t;
}

AttrTable read_celeba_attrs(const std::string& path) {
  return parse_celeba_attrs(read_maybe_gzip(path, "attribute file"), path);
}

std::unordered_map<std::string, int> parse_celeba_identities(const std::string& text,
                                                             const std::string& name) {
  std::unordered_map<std::string, int> ids;
  for_each_line(text, [&](size_t line_no, const std::vector<std::string>& tok) {
    auto fail = [&](const std::string& why) -> Error {
      return Error("identity file '" + name + "' line " + std::to_string(line_no) + ": " + why);
    };
    if (tok.size() != 2) {
      throw fail("expected an image name and an identity, found " + std::to_string(tok.size()) + " fields");
    }
    const std::string& id = tok[1];
    errno = 0;
    char* rest = nullptr;
    const long long v = std::strtoll(id.c_str(), &rest, 10);
    if (id.empty() || !std::isdigit(static_cast<unsigned char>(id[0])) || *rest != '\0' || errno == ERANGE ||
        v > std::numeric_limits<int>::max()) {
      throw fail("identity '" + id + "' is not a non-negative integer");
    }
    if (!ids.emplace(tok[0], static_cast<int>(v)).second)
      throw fail("image '" + tok[0] + "' is listed twice");
  });
  if (ids.empty()) throw Error("identity file '" + name + "' lists no images");
  return ids;
}

std::unordered_map<std::string, int> read_celeba_identities(const std::string& path) {
  return parse_celeba_identities(read_maybe_gzip(path, "identity file"), path);
}

}  // namespace faceattr::cli
