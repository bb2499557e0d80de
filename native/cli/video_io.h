// Video files <-> RGB frames, through FFmpeg's libraries: libavformat
// (containers), libavcodec (codecs), libswscale (pixel formats).
//
//   VideoReader in("clip.mp4");             // throws Error: missing, not a video, ...
//   VideoWriter out("boxes.mp4", in.info().width, in.info().height, in.info().fps);
//   VideoFrame f;
//   while (in.read(f)) out.write(f.rgb.data(), f.width * 3, f.time_ms);
//   out.finish();
//
// Every failure throws Error with the file name and FFmpeg's reason; FFmpeg's
// own log is kept off stderr (its last error line is folded into the message).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace faceattr::cli {

struct VideoFrame {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // height rows of width * 3 bytes
  double time_ms = 0;        // presentation time from the stream's start; non-decreasing
  int64_t index = 0;         // 0, 1, 2, ... in presentation order

  faceattr_image view() const {
    return faceattr_image{rgb.data(), width, height, width * 3, FACEATTR_PIXEL_RGB};
  }
};

struct VideoInfo {
  int width = 0;
  int height = 0;
  double fps = 0;          // the stream's frame rate (guessed by libavformat; 30 when unknown)
  int64_t n_frames = 0;    // frames the container declares; 0 when it does not say
  double duration_ms = 0;  // 0 when unknown
  std::string codec;       // decoder name, e.g. "h264"
  int rotation = 0;    // 0, 90, 180 or 270: degrees clockwise the stored frames are turned (see VideoReader)
  std::string format;  // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
};

// Decodes the best video stream of a file into RGB24 frames. A stream's display
// rotation (the display matrix a phone writes for a portrait video) is applied,
// as a player does, so frames come out upright and info() gives their upright
// size. Frames larger than `max_pixels` are refused. Truncated or corrupt input
// throws Error; a file that ends before the frames its container declares counts
// as truncated.
class VideoReader {
 public:
  explicit VideoReader(const std::string& path, int64_t max_pixels = int64_t{64} << 20);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  // The next frame into `frame` (its buffer reused); false at the end of the stream.
  bool read(VideoFrame& frame);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Encodes RGB24 frames into a video file whose container follows the file name
// (.mp4, .mkv, ...; unknown: MP4). Codec: H.264 (libx264) when this FFmpeg has
// it, else MPEG-4 part 2. Both need even dimensions: an odd width or height
// drops the last column or row.
class VideoWriter {
 public:
  // `display_rotation` (0, 90, 180, 270): degrees clockwise a player should turn
  // the frames to show them, written as the stream's display matrix.
  VideoWriter(const std::string& path, int width, int height, double fps, int display_rotation = 0);
  ~VideoWriter();  // finishes the file if finish() was not called (errors ignored)
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // One frame of the size given at construction. `time_ms` < 0: the next frame
  // at the writer's rate; else the frame's time, snapped to the rate's grid (a
  // frame landing on an earlier frame's slot moves to the next free slot).
  void write(const uint8_t* rgb, int stride, double time_ms = -1);
  // Flushes the encoder and writes the trailer. Idempotent.
  void finish();

  const std::string& codec_name() const;  // "libx264" or "mpeg4"
  int width() const;                      // encoded size (even)
  int height() const;
  int64_t frames_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Turns an RGB24 image `degrees` (0, 90, 180, 270) clockwise into `out` (resized;
// 90 and 270 swap width and height).
void rotate_rgb(const uint8_t* rgb, int width, int height, int degrees, std::vector<uint8_t>& out);

}  // namespace faceattr::cli
