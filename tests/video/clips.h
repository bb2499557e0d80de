// Synthetic video clips with known truth, for the tracker's tests and the CLI's
// `video` tests: real face crops (CelebA test split) pasted on a photo or a
// textured background, moving in known ways, with per-frame sensor noise.
//
//   auto faces = faceattr::clips::load_faces(faceattr::clips::default_data_dir(), 2);
//   auto bg = faceattr::clips::load_background(faceattr::clips::default_data_dir(), 7);
//   faceattr::clips::Clip c = faceattr::clips::make_clip(faceattr::clips::Kind::Cross, faces, bg, 7);
//   for (const auto& f : c.frames) ... f.rgb (c.width x c.height RGB24), f.faces[i].box, f.time_ms
//
// Everything is deterministic given the seed (and the standard library's
// <random> distributions). Faces are pasted with a feathered edge at 70-130 px
// tall in a 320x240 frame (scaled with the frame's height otherwise), sizes the
// shipped localiser finds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faceattr::clips {

// A face on a frame. person: which face (index into the crops passed to make_clip);
// box: where the crop was pasted (x, y, w, h in frame pixels, possibly reaching
// past the frame's edge); visible: the fraction of that box inside the frame (> 0:
// faces wholly outside the frame are not listed).
struct FaceTruth {
  int person = 0;
  float box[4] = {0, 0, 0, 0};
  float visible = 1;
};

struct Frame {
  std::vector<uint8_t> rgb;  // height rows of width * 3 bytes
  std::vector<FaceTruth> faces;
  double time_ms = 0;  // index * 1000 / fps
};

struct Clip {
  std::string name;  // "<kind>-seed<seed>"
  int width = 320, height = 240;
  double fps = 30;
  std::vector<Frame> frames;
};

// Still: one face still at ~1/3 of the frame height, slight sensor noise.
// Pan: the face crosses the frame horizontally. Zoom: it grows and shrinks back
// (50 -> 130 -> 50 px tall at 240). Jitter: small random shakes (+-3 px) each frame.
// Noise: strong Gaussian sensor noise (sigma 25). Brightness: the frame's gain
// ramps 0.5x -> 1.4x over the first half, then steps between 0.7x and 1.3x every
// 15 frames. Cross: two persons move towards each other and pass, one in the
// upper band and one in the lower, their boxes always apart vertically by more
// than 20% of their width. LeaveReturn: the face walks out of the right edge,
// stays wholly outside for 15 frames (fewer in short clips) and walks back.
// Swap: one face still; from the middle frame on, another person at the same box.
enum class Kind { Still, Pan, Zoom, Jitter, Noise, Brightness, Cross, LeaveReturn, Swap };

const char* kind_name(Kind k);  // "still", "pan", ..., "leave-return", "swap"
// The kind named `name` (kind_name's spelling); false when none.
bool kind_from_name(const std::string& name, Kind* out);
std::vector<Kind> all_kinds();
// Persons a kind needs: 2 for Cross and Swap, else 1.
int persons_needed(Kind k);

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

// faces: decoded RGB face crops (any size; Cross and Swap use faces[0] and
// faces[1], the other kinds faces[0]). background: a photo scaled to cover the
// frame, or empty for a flat grey textured one. Throws std::invalid_argument for
// too few faces, an empty face, n_frames < 2 or a frame smaller than 64x48.
Clip make_clip(Kind kind, const std::vector<Image>& faces, const Image& background, uint32_t seed,
               int n_frames = 90, int width = 320, int height = 240);

// --- loading from the data folder -------------------------------------------------

// The FACEATTR_DATA_DIR this library was configured with; $FACEATTR_DATA_DIR wins when set.
std::string default_data_dir();
// Decodes a JPEG/PNG/BMP file (stb_image) to RGB; throws std::runtime_error.
Image load_image(const std::string& path);
// `n` face crops from <data_dir>/celeba/test_crops/: with seed 0 the first n files
// in sorted order, else n distinct files picked with `seed`. Throws std::runtime_error.
std::vector<Image> load_faces(const std::string& data_dir, int n, uint32_t seed = 0);
// One photo from <data_dir>/objects/*.jpg picked with `seed`. Throws std::runtime_error.
Image load_background(const std::string& data_dir, uint32_t seed);
// make_clip with persons_needed(kind) faces from load_faces(data_dir, n, face_seed)
// and load_background(data_dir, seed) (or the textured background when
// `photo_background` is false).
Clip make_clip_from_data(Kind kind, const std::string& data_dir, uint32_t seed, int n_frames = 90,
                         int width = 320, int height = 240, bool photo_background = true,
                         uint32_t face_seed = 0);

}  // namespace faceattr::clips
