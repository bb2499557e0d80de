// Crash-safe writes of every file the trainer produces (checkpoints, state.json,
// metrics, reports, options, exported models, golden files).
//
// A write goes to `<path>.tmp` in the same folder, is fsynced, renamed over
// `<path>`, and the folder is fsynced: a process killed at any instant (SIGKILL
// included) leaves either the previous `<path>` or the complete new one, plus at
// most a partial `<path>.tmp`, which the next run removes (remove_stale_temps)
// and which no reader ever opens.
//
// Test hook: FACEATTR_TRAIN_KILL_AT=<point>[@<n>] makes the process SIGKILL itself
// at the n-th (default 1st) arrival at `point`; in a write, after half of the
// temp file is written and before the rename. Points: "checkpoint:<epoch>",
// "state:<epoch>", "metrics:<epoch>", "final", "step:<epoch>:<step>" (before a
// training step), "export" (the model files, golden files and report of an
// export, in that order). Unset, the hook costs one string compare per call.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faceattr::train {

// Writes `bytes` to `path` atomically (see above). `point` names the write for the
// kill hook (empty: never killed). Throws std::runtime_error with the OS error.
void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& point = "");

// Several files as one step: every temp file is written and fsynced first, then
// all are renamed in the given order. A kill before the renames leaves none of the
// new files in place (and the old ones untouched); each file is whole at all times.
void write_files_atomic(const std::vector<std::pair<std::string, std::string_view>>& files,
                        const std::string& point = "");

// The bytes of a byte vector, for the writers above.
template <class Bytes>
std::string_view as_bytes(const Bytes& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0])};
}

// Removes the temp files a killed writer may have left in `dir` (not recursive):
// regular files named `*.tmp` or `*.tmp.<digits>` (tools/modelfile's pattern).
// Returns how many were removed; a missing folder is not an error.
int remove_stale_temps(const std::string& dir);

// The kill hook (test only): SIGKILLs the process when FACEATTR_TRAIN_KILL_AT
// names `point` and this is its n-th arrival. No-op otherwise.
void kill_point(const std::string& point);

// True when FACEATTR_TRAIN_KILL_AT is set (lets callers skip building point names).
bool kill_hook_active();

}  // namespace faceattr::train
