#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace faceattr::train {
namespace fs = std::filesystem;

namespace {

struct KillSpec {
  std::string point;  // empty: hook off
  int nth = 1;
  int seen = 0;
  std::mutex mu;
};

KillSpec& kill_spec() {
  static KillSpec* spec = [] {
    auto* s = new KillSpec;
    const char* env = std::getenv("FACEATTR_TRAIN_KILL_AT");
    if (env == nullptr || *env == '\0') return s;
    std::string v = env;
    const size_t at = v.rfind('@');
    if (at != std::string::npos) {
      char* end = nullptr;
      const long n = std::strtol(v.c_str() + at + 1, &end, 10);
      if (end == v.c_str() + at + 1 || *end != '\0' || n < 1)
        throw std::runtime_error("FACEATTR_TRAIN_KILL_AT: bad count in '" + v +
                                 "' (want <point>[@<n>], n >= 1)");
      s->nth = static_cast<int>(n);
      v.resize(at);
    }
    s->point = v;
    return s;
  }();
  return *spec;
}

// True when this arrival at `point` is the one the hook kills at.
bool kill_due(const std::string& point) {
  KillSpec& s = kill_spec();
  if (s.point.empty() || point != s.point) return false;
  std::lock_guard<std::mutex> lock(s.mu);
  return ++s.seen == s.nth;
}

[[noreturn]] void die_now(const std::string& where) {
  std::fprintf(stderr, "[kill-hook] SIGKILL at %s\n", where.c_str());
  std::fflush(stderr);
  std::raise(SIGKILL);
  std::abort();  // not reached
}

std::string os_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void write_all(int fd, const char* p, size_t n, const std::string& tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error(os_error("cannot write", tmp));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Writes and fsyncs `path`.tmp; returns its name. Killed half-way by the hook when due.
std::string write_temp(const std::string& path, std::string_view bytes, const std::string& point) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(os_error("cannot create", tmp));
  try {
    if (!point.empty() && kill_due(point)) {
      write_all(fd, bytes.data(), bytes.size() / 2, tmp);
      ::fsync(fd);
      die_now(point + " (" + tmp + ", " + std::to_string(bytes.size() / 2) + " of " +
              std::to_string(bytes.size()) + " bytes)");
    }
    write_all(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) throw std::runtime_error(os_error("cannot fsync", tmp));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const std::string err = os_error("cannot close", tmp);
    ::unlink(tmp.c_str());
    throw std::runtime_error(err);
  }
  return tmp;
}

void rename_into_place(const std::string& tmp, const std::string& path) {
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = os_error("cannot rename " + tmp + " to", path);
    ::unlink(tmp.c_str());
    throw std::runtime_error(err);
  }
}

// Makes the renames in `path`'s folder durable.
void sync_parent(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

bool is_temp_name(const std::string& name) {
  const size_t t = name.rfind(".tmp");
  if (t == std::string::npos || t == 0) return false;
  if (t + 4 == name.size()) return true;
  if (name[t + 4] != '.' || t + 5 == name.size()) return false;
  for (size_t i = t + 5; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& point) {
  rename_into_place(write_temp(path, bytes, point), path);
  sync_parent(path);
}

void write_files_atomic(const std::vector<std::pair<std::string, std::string_view>>& files,
                        const std::string& point) {
  std::vector<std::string> temps;
  try {
    for (const auto& [path, bytes] : files) temps.push_back(write_temp(path, bytes, point));
  } catch (...) {
    for (const auto& t : temps) ::unlink(t.c_str());
    throw;
  }
  for (size_t i = 0; i < files.size(); ++i) rename_into_place(temps[i], files[i].first);
  std::vector<std::string> synced;
  for (const auto& f : files) {
    const std::string dir = fs::path(f.first).parent_path().string();
    bool seen = false;
    for (const auto& d : synced) seen = seen || d == dir;
    if (!seen) sync_parent(f.first), synced.push_back(dir);
  }
}

int remove_stale_temps(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || !is_temp_name(e.path().filename().string())) continue;
    if (fs::remove(e.path(), ec)) {
      std::fprintf(stderr, "removed %s (left by an interrupted write)\n", e.path().c_str());
      ++n;
    }
  }
  return n;
}

void kill_point(const std::string& point) {
  if (kill_due(point)) die_now(point);
}

bool kill_hook_active() { return !kill_spec().point.empty(); }

}  // namespace faceattr::train
