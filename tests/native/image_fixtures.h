// In-memory encoders for the image decoder's inputs (tests/native/
// test_image_decode.cpp and make_fixtures.cpp): JPEG from RGB (TurboJPEG) or
// CMYK (libjpeg, to choose CMYK or YCCK and the Adobe segment), an EXIF block
// holding an Orientation (libexif) and its APP1 segment, WebP still (lossless,
// optionally with an EXIF chunk through libwebpmux) and animated. Failures
// throw std::runtime_error.
#pragma once

#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace faceattr::test {

inline std::vector<uint8_t> jpeg_from_pixels(const std::vector<uint8_t>& px, int w, int h, int pixel_format,
                                             int quality = 95) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int bpp = tjPixelSize[pixel_format];
  if (tjCompress2(tj, px.data(), w, w * bpp, h, pixel_format, &buf, &size, TJSAMP_444, quality, 0) != 0) {
    const std::string why = tjGetErrorStr2(tj);
    tjDestroy(tj);
    throw std::runtime_error("tjCompress2: " + why);
  }
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

// A 4:4:4 JPEG from 4-channel pixels, stored as CMYK or (ycck) YCCK, with or
// without the Adobe APP14 segment (YCCK needs it to be recognised).
inline std::vector<uint8_t> jpeg_from_cmyk(const std::vector<uint8_t>& cmyk, int w, int h, bool ycck,
                                           bool adobe_segment, int quality = 98) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, ycck ? JCS_YCCK : JCS_CMYK);
  cinfo.write_Adobe_marker = adobe_segment ? TRUE : FALSE;
  for (int c = 0; c < cinfo.num_components; ++c)
    cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(&cmyk[static_cast<size_t>(cinfo.next_scanline) * w * 4]);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<uint8_t> out(buf, buf + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buf);
  return out;
}

// "Exif\0\0" + TIFF data whose IFD0 holds Orientation = `orientation` (any
// 16-bit value), in Motorola (big-endian) or Intel byte order.
inline std::vector<uint8_t> exif_orientation_block(int orientation, bool big_endian) {
  ExifData* ed = exif_data_new();
  if (!ed) throw std::runtime_error("exif_data_new");
  exif_data_set_byte_order(ed, big_endian ? EXIF_BYTE_ORDER_MOTOROLA : EXIF_BYTE_ORDER_INTEL);
  ExifEntry* e = exif_entry_new();
  exif_content_add_entry(ed->ifd[EXIF_IFD_0], e);
  exif_entry_initialize(e, EXIF_TAG_ORIENTATION);
  exif_set_short(e->data, exif_data_get_byte_order(ed), static_cast<ExifShort>(orientation));
  exif_entry_unref(e);
  unsigned char* buf = nullptr;
  unsigned int size = 0;
  exif_data_save_data(ed, &buf, &size);
  exif_data_unref(ed);
  if (!buf || size < 6) throw std::runtime_error("exif_data_save_data");
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

// The JPEG with an APP1 segment holding `payload` right after SOI.
inline std::vector<uint8_t> with_app1(const std::vector<uint8_t>& jpeg, const std::vector<uint8_t>& payload) {
  if (payload.size() > 65533) throw std::runtime_error("APP1 payload too large");
  const size_t len = payload.size() + 2;
  if (jpeg.size() < 2) throw std::runtime_error("not a JPEG");
  std::vector<uint8_t> out;
  out.reserve(jpeg.size() + 4 + payload.size());
  for (uint8_t b : {jpeg[0], jpeg[1], uint8_t{0xFF}, uint8_t{0xE1}, static_cast<uint8_t>(len >> 8),
                    static_cast<uint8_t>(len & 0xFF)}) {
    out.push_back(b);
  }
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

inline std::vector<uint8_t> webp_lossless(const std::vector<uint8_t>& rgb, int w, int h) {
  uint8_t* buf = nullptr;
  const size_t size = WebPEncodeLosslessRGB(rgb.data(), w, h, w * 3, &buf);
  if (size == 0) throw std::runtime_error("WebPEncodeLosslessRGB");
  std::vector<uint8_t> out(buf, buf + size);
  WebPFree(buf);
  return out;
}

// The WebP with an EXIF chunk holding `exif` (TIFF data, as the WebP container specifies).
inline std::vector<uint8_t> webp_with_exif(const std::vector<uint8_t>& webp,
                                           const std::vector<uint8_t>& exif) {
  WebPMux* mux = WebPMuxNew();
  const WebPData image{webp.data(), webp.size()};
  const WebPData chunk{exif.data(), exif.size()};
  WebPData assembled{nullptr, 0};
  const bool ok = mux && WebPMuxSetImage(mux, &image, 1) == WEBP_MUX_OK &&
                  WebPMuxSetChunk(mux, "EXIF", &chunk, 1) == WEBP_MUX_OK &&
                  WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK;
  WebPMuxDelete(mux);
  if (!ok) throw std::runtime_error("WebPMux");
  std::vector<uint8_t> out(assembled.bytes, assembled.bytes + assembled.size);
  WebPDataClear(&assembled);
  return out;
}

// A lossless animation of w x h RGB frames, 100 ms each.
inline std::vector<uint8_t> webp_animation(const std::vector<std::vector<uint8_t>>& frames, int w, int h) {
  WebPAnimEncoderOptions opts;
  WebPConfig config;
  if (!WebPAnimEncoderOptionsInit(&opts) || !WebPConfigInit(&config))
    throw std::runtime_error("libwebp init");
  config.lossless = 1;
  WebPAnimEncoder* enc = WebPAnimEncoderNew(w, h, &opts);
  if (!enc) throw std::runtime_error("WebPAnimEncoderNew");
  bool ok = true;
  int timestamp = 0;
  for (const auto& rgb : frames) {
    WebPPicture pic;
    ok = ok && WebPPictureInit(&pic);
    pic.width = w;
    pic.height = h;
    pic.use_argb = 1;
    ok = ok && WebPPictureImportRGB(&pic, rgb.data(), w * 3) &&
         WebPAnimEncoderAdd(enc, &pic, timestamp, &config);
    WebPPictureFree(&pic);
    timestamp += 100;
  }
  WebPData assembled{nullptr, 0};
  ok = ok && WebPAnimEncoderAdd(enc, nullptr, timestamp, nullptr) && WebPAnimEncoderAssemble(enc, &assembled);
  WebPAnimEncoderDelete(enc);
  if (!ok) throw std::runtime_error("WebPAnimEncoder");
  std::vector<uint8_t> out(assembled.bytes, assembled.bytes + assembled.size);
  WebPDataClear(&assembled);
  return out;
}

}  // namespace faceattr::test
