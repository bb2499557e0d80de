#include "video_io.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include "cli_common.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace faceattr::cli {

namespace {

// FFmpeg logs to stderr by default; the CLI's contract is one error line. Its
// messages are kept instead, the last error-level one added to our Error.
std::mutex g_log_mutex;
std::string g_last_log;

void log_callback(void*, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_ERROR) return;
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, args);
  std::string s = line;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_last_log = std::move(s);
}

void quiet_ffmpeg_log() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

std::string take_last_log() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  return std::exchange(g_last_log, std::string());
}

// "<av_strerror>" plus FFmpeg's last logged error when it says more.
std::string av_reason(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  std::string reason = buf;
  const std::string log = take_last_log();
  if (!log.empty() && log != reason) reason += " (" + log + ")";
  return reason;
}

void check_path_readable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error("video '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, ec))
    throw Error("cannot read video '" + path + "': is a directory");
}

// Degrees clockwise to turn the stored frames (0, 90, 180, 270), as ffmpeg's own
// autorotation reads the display matrix.
int display_rotation(const AVStream* st) {
  size_t size = 0;
  const uint8_t* m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (m == nullptr || size < 9 * sizeof(int32_t)) return 0;
  const double angle = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
  if (!std::isfinite(angle)) return 0;
  const long quarter = std::lround(-angle / 90.0);
  return static_cast<int>(((quarter % 4) + 4) % 4) * 90;
}

}  // namespace

void rotate_rgb(const uint8_t* rgb, int width, int height, int degrees, std::vector<uint8_t>& out) {
  const size_t n = static_cast<size_t>(width) * height * 3;
  out.resize(n);
  const int w = width, h = height;
  const auto src = [&](int x, int y) { return rgb + (static_cast<size_t>(y) * w + x) * 3; };
  if (degrees == 90 || degrees == 270) {
    // Out is h wide, w tall.
    for (int y = 0; y < w; ++y) {
      for (int x = 0; x < h; ++x) {
        const uint8_t* p = degrees == 90 ? src(y, h - 1 - x) : src(w - 1 - y, x);
        std::copy(p, p + 3, out.begin() + (static_cast<size_t>(y) * h + x) * 3);
      }
    }
  } else if (degrees == 180) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const uint8_t* p = src(w - 1 - x, h - 1 - y);
        std::copy(p, p + 3, out.begin() + (static_cast<size_t>(y) * w + x) * 3);
      }
    }
  } else {
    std::copy(rgb, rgb + n, out.begin());
  }
}

// --- reader -------------------------------------------------------------------

struct VideoReader::Impl {
  std::string path;
  int64_t max_pixels = 0;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* dec = nullptr;
  SwsContext* sws = nullptr;
  AVPacket* pkt = nullptr;
  AVFrame* frame = nullptr;
  int stream = -1;
  AVRational time_base{0, 1};
  int64_t start_pts = AV_NOPTS_VALUE;
  VideoInfo info;
  std::vector<uint8_t> stored;  // a frame as stored, when it is to be rotated
  int64_t next_index = 0;
  double last_ms = -1;
  bool flushed = false;
  bool ended = false;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
  }

  [[noreturn]] void fail(const std::string& what, int err) const {
    throw Error(what + " '" + path + "': " + av_reason(err));
  }

  void open() {
    check_path_readable(path);
    quiet_ffmpeg_log();
    take_last_log();
    int err = avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
    if (err < 0) fail("cannot open video", err);
    err = avformat_find_stream_info(fmt, nullptr);
    if (err < 0) fail("cannot read video", err);
    const AVCodec* codec = nullptr;
    stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream == AVERROR_STREAM_NOT_FOUND) throw Error("'" + path + "' has no video stream");
    if (stream < 0 || codec == nullptr) fail("no decoder for the video stream of", stream < 0 ? stream : 0);
    const AVStream* st = fmt->streams[stream];
    const AVCodecParameters* par = st->codecpar;
    if (par->width <= 0 || par->height <= 0) {
      throw Error("the video stream of '" + path + "' has no frame size (not a video file?)");
    }
    if (static_cast<int64_t>(par->width) * par->height > max_pixels) {
      throw Error("video '" + path + "' is too large: " + std::to_string(par->width) + "x" +
                  std::to_string(par->height));
    }
    dec = avcodec_alloc_context3(codec);
    if (dec == nullptr) throw Error("out of memory opening video '" + path + "'");
    err = avcodec_parameters_to_context(dec, par);
    if (err < 0) fail("cannot set up the decoder for", err);
    err = avcodec_open2(dec, codec, nullptr);
    if (err < 0) fail("cannot open the decoder for", err);
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    if (pkt == nullptr || frame == nullptr) throw Error("out of memory opening video '" + path + "'");

    time_base = st->time_base;
    info.width = par->width;
    info.height = par->height;
    const double fps = av_q2d(av_guess_frame_rate(fmt, const_cast<AVStream*>(st), nullptr));
    info.fps = std::isfinite(fps) && fps > 0 && fps < 1000 ? fps : 30.0;
    info.n_frames = st->nb_frames > 0 ? st->nb_frames : 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
      info.duration_ms = static_cast<double>(st->duration) * av_q2d(time_base) * 1000.0;
    } else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
      info.duration_ms = static_cast<double>(fmt->duration) * 1000.0 / AV_TIME_BASE;
    }
    info.codec = codec->name;
    info.format = fmt->iformat->name;
    info.rotation = display_rotation(st);
    if (info.rotation == 90 || info.rotation == 270) std::swap(info.width, info.height);
  }

  void convert(VideoFrame& out) {
    const int w = frame->width, h = frame->height;
    if (w <= 0 || h <= 0) throw Error("corrupt video stream in '" + path + "': a frame without size");
    if (static_cast<int64_t>(w) * h > max_pixels) {
      throw Error("video '" + path + "' has a frame too large: " + std::to_string(w) + "x" +
                  std::to_string(h));
    }
    sws = sws_getCachedContext(sws, w, h, static_cast<AVPixelFormat>(frame->format), w, h, AV_PIX_FMT_RGB24,
                               SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (sws == nullptr) {
      throw Error("cannot convert the frames of '" + path + "' to RGB (pixel format " +
                  std::to_string(frame->format) + ")");
    }
    std::vector<uint8_t>& rgb = info.rotation != 0 ? stored : out.rgb;
    rgb.resize(static_cast<size_t>(w) * h * 3);
    uint8_t* dst[4] = {rgb.data(), nullptr, nullptr, nullptr};
    int dst_stride[4] = {w * 3, 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, h, dst, dst_stride);
    const bool swap = info.rotation == 90 || info.rotation == 270;
    out.width = swap ? h : w;
    out.height = swap ? w : h;
    if (info.rotation != 0) rotate_rgb(stored.data(), w, h, info.rotation, out.rgb);

    double ms;
    const int64_t ts = frame->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) {
      ms = last_ms < 0 ? 0.0 : last_ms + 1000.0 / info.fps;
    } else {
      if (start_pts == AV_NOPTS_VALUE) {
        const int64_t st = fmt->streams[stream]->start_time;
        start_pts = st != AV_NOPTS_VALUE ? std::min(st, ts) : ts;
      }
      ms = static_cast<double>(ts - start_pts) * av_q2d(time_base) * 1000.0;
    }
    ms = std::max(ms, std::max(last_ms, 0.0));  // the tracker needs non-decreasing times
    out.time_ms = ms;
    out.index = next_index++;
    last_ms = ms;
    av_frame_unref(frame);
  }

  bool read(VideoFrame& out) {
    if (ended) return false;
    for (;;) {
      int err = avcodec_receive_frame(dec, frame);
      if (err == 0) {
        convert(out);
        return true;
      }
      if (err == AVERROR_EOF) {
        ended = true;
        // The container's index says how many frames there are; fewer means the
        // file was cut short (mp4 indexes everything up front).
        if (info.n_frames > 0 && next_index < info.n_frames) {
          throw Error("video '" + path + "' is truncated: " + std::to_string(next_index) + " of " +
                      std::to_string(info.n_frames) + " frames decoded");
        }
        return false;
      }
      if (err != AVERROR(EAGAIN))
        fail("corrupt video stream (frame " + std::to_string(next_index) + ") in", err);
      if (flushed) {
        ended = true;
        return false;
      }
      err = av_read_frame(fmt, pkt);
      if (err == AVERROR_EOF) {
        flushed = true;
        err = avcodec_send_packet(dec, nullptr);
        if (err < 0 && err != AVERROR_EOF) fail("corrupt video stream in", err);
        continue;
      }
      if (err < 0) fail("cannot read video (after frame " + std::to_string(next_index) + ")", err);
      if (pkt->stream_index != stream) {
        av_packet_unref(pkt);
        continue;
      }
      const bool corrupt = (pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
      err = avcodec_send_packet(dec, pkt);
      av_packet_unref(pkt);
      if (corrupt) {
        throw Error("video '" + path + "' is truncated or corrupt: a packet is cut short (" +
                    std::to_string(next_index) + " frames decoded)");
      }
      if (err < 0 && err != AVERROR(EAGAIN)) {
        fail("corrupt video stream (frame " + std::to_string(next_index) + ") in", err);
      }
    }
  }
};

VideoReader::VideoReader(const std::string& path, int64_t max_pixels) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->max_pixels = max_pixels;
  impl_->open();
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }

bool VideoReader::read(VideoFrame& frame) { return impl_->read(frame); }

// --- writer -------------------------------------------------------------------

struct VideoWriter::Impl {
  std::string path;
  std::string codec_name;
  int width = 0;
  int height = 0;
  AVRational rate{30, 1};
  AVFormatContext* oc = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* st = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* pkt = nullptr;
  int64_t next_pts = 0;
  int64_t frames = 0;
  bool header_written = false;
  bool finished = false;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    if (oc != nullptr) {
      if (oc->pb != nullptr && !(oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&oc->pb);
      avformat_free_context(oc);
    }
  }

  [[noreturn]] void fail(const std::string& what, int err) const {
    throw Error(what + " '" + path + "': " + av_reason(err));
  }

  void open(int w, int h, double fps, int rotation) {
    quiet_ffmpeg_log();
    take_last_log();
    width = w & ~1;
    height = h & ~1;
    if (width < 2 || height < 2) {
      throw Error("cannot write video '" + path + "': frame size " + std::to_string(w) + "x" +
                  std::to_string(h) + " is too small");
    }
    if (!std::isfinite(fps) || fps <= 0 || fps > 1000) {
      throw Error("cannot write video '" + path + "': frame rate " + std::to_string(fps) + " out of range");
    }
    int err = avformat_alloc_output_context2(&oc, nullptr, nullptr, path.c_str());
    if (err < 0 || oc == nullptr) {
      take_last_log();
      err = avformat_alloc_output_context2(&oc, nullptr, "mp4", path.c_str());
      if (err < 0 || oc == nullptr) fail("cannot write video", err);
    }
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    if (codec == nullptr) codec = avcodec_find_encoder_by_name("mpeg4");
    if (codec == nullptr)
      throw Error("cannot write video '" + path + "': FFmpeg has neither libx264 nor mpeg4");
    codec_name = codec->name;

    enc = avcodec_alloc_context3(codec);
    if (enc == nullptr) throw Error("out of memory writing video '" + path + "'");
    rate = av_d2q(fps, 65535);  // MPEG-4 part 2 allows time bases up to 1/65535
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = av_inv_q(rate);
    enc->framerate = rate;
    enc->gop_size = std::max(1, static_cast<int>(std::lround(fps)) * 2);
    if (codec_name == "libx264") {
      av_opt_set(enc->priv_data, "preset", "veryfast", 0);
      av_opt_set(enc->priv_data, "crf", "20", 0);
    } else {
      enc->flags |= AV_CODEC_FLAG_QSCALE;
      enc->global_quality = FF_QP2LAMBDA * 3;
    }
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    err = avcodec_open2(enc, codec, nullptr);
    if (err < 0) fail("cannot open the " + codec_name + " encoder for", err);

    st = avformat_new_stream(oc, nullptr);
    if (st == nullptr) throw Error("out of memory writing video '" + path + "'");
    st->time_base = enc->time_base;
    st->avg_frame_rate = rate;
    err = avcodec_parameters_from_context(st->codecpar, enc);
    if (err < 0) fail("cannot write video", err);
    if (rotation != 0) {
      if (rotation != 90 && rotation != 180 && rotation != 270) {
        throw Error("cannot write video '" + path + "': display rotation " + std::to_string(rotation) +
                    " is not 0, 90, 180 or 270");
      }
      uint8_t* m = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
      if (m == nullptr) throw Error("out of memory writing video '" + path + "'");
      av_display_rotation_set(reinterpret_cast<int32_t*>(m), rotation);  // clockwise, unlike _get
    }

    if (!(oc->oformat->flags & AVFMT_NOFILE)) {
      err = avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE);
      if (err < 0) fail("cannot write video", err);
    }
    // MP4/MOV: the index (moov) before the frames, so that players start at once.
    AVDictionary* mux_opts = nullptr;
    const std::string muxer = oc->oformat->name;
    if (muxer == "mp4" || muxer == "mov") av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    err = avformat_write_header(oc, &mux_opts);
    av_dict_free(&mux_opts);
    if (err < 0) fail("cannot write video", err);
    header_written = true;

    frame = av_frame_alloc();
    pkt = av_packet_alloc();
    if (frame == nullptr || pkt == nullptr) throw Error("out of memory writing video '" + path + "'");
    frame->format = enc->pix_fmt;
    frame->width = width;
    frame->height = height;
    err = av_frame_get_buffer(frame, 0);
    if (err < 0) fail("cannot write video", err);
    sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, enc->pix_fmt, SWS_BILINEAR, nullptr,
                         nullptr, nullptr);
    if (sws == nullptr) throw Error("cannot write video '" + path + "': no RGB to YUV conversion");
  }

  void encode(const AVFrame* f) {
    int err = avcodec_send_frame(enc, f);
    if (err < 0) fail("cannot encode video", err);
    for (;;) {
      err = avcodec_receive_packet(enc, pkt);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) fail("cannot encode video", err);
      av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      err = av_interleaved_write_frame(oc, pkt);  // takes the packet's reference
      if (err < 0) fail("cannot write video", err);
    }
  }

  void write(const uint8_t* rgb, int stride, double time_ms) {
    if (finished) throw Error("cannot write video '" + path + "': already finished");
    const int err = av_frame_make_writable(frame);
    if (err < 0) fail("cannot write video", err);
    const uint8_t* src[4] = {rgb, nullptr, nullptr, nullptr};
    const int src_stride[4] = {stride, 0, 0, 0};
    sws_scale(sws, src, src_stride, 0, height, frame->data, frame->linesize);
    int64_t pts = next_pts;
    if (time_ms >= 0) {
      pts = std::llround(time_ms * rate.num / (1000.0 * rate.den));
      pts = std::max(pts, next_pts);
    }
    frame->pts = pts;
    next_pts = pts + 1;
    encode(frame);
    ++frames;
  }

  void finish() {
    if (finished) return;
    finished = true;
    encode(nullptr);
    const int err = av_write_trailer(oc);
    if (err < 0) fail("cannot finish video", err);
    if (!(oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&oc->pb);
  }
};

VideoWriter::VideoWriter(const std::string& path, int width, int height, double fps, int display_rotation)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->open(width, height, fps, display_rotation);
}

VideoWriter::~VideoWriter() {
  if (impl_ && impl_->header_written && !impl_->finished) {
    try {
      impl_->finish();
    } catch (...) {  // a destructor must not throw; finish() reports errors
    }
  }
}

void VideoWriter::write(const uint8_t* rgb, int stride, double time_ms) {
  impl_->write(rgb, stride, time_ms);
}
void VideoWriter::finish() { impl_->finish(); }
const std::string& VideoWriter::codec_name() const { return impl_->codec_name; }
int VideoWriter::width() const { return impl_->width; }
int VideoWriter::height() const { return impl_->height; }
int64_t VideoWriter::frames_written() const { return impl_->frames; }

}  // namespace faceattr::cli
