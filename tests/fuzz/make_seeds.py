#!/usr/bin/env python3
"""Writes the generated seed inputs of tests/fuzz/corpus/ (standard library only):
tiny PNGs of every colour type, BMP, TGA and PNM images, EXIF blocks, LNet
response maps and session_predict frames. The JPEG, WebP, model and text seeds
are copies of the native test fixtures (tests/native/make_fixtures.cpp).
Run from anywhere: python3 tests/fuzz/make_seeds.py"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def png(w, h, colour_type, depth, rows, plte=None, trns=None, interlace=0):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, interlace))
    if plte:
        out += chunk(b"PLTE", plte)
    if trns:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pngs():
    w, h = 3, 2
    put("image_decode", "rgb8.png", png(w, h, 2, 8, [bytes(range(r * 9, r * 9 + 9)) for r in range(h)]))
    put("image_decode", "grey8.png", png(w, h, 0, 8, [bytes([10, 20, 30]), bytes([40, 50, 60])]))
    put("image_decode", "greyalpha8.png", png(w, h, 4, 8, [bytes([10, 255, 20, 128, 30, 0])] * h))
    put("image_decode", "rgba8.png", png(w, h, 6, 8, [bytes([1, 2, 3, 255] * w)] * h))
    put("image_decode", "rgb16.png", png(w, h, 2, 16, [bytes([0x12, 0x34] * 3 * w)] * h))
    put("image_decode", "grey1.png", png(9, 2, 0, 1, [bytes([0xA5, 0x80])] * 2))
    put("image_decode", "palette4_trns.png",
        png(w, h, 3, 4, [bytes([0x01, 0x20])] * h, plte=bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]), trns=b"\x80"))
    put("image_decode", "interlaced.png", png(5, 5, 2, 8, [bytes(15)] * 5, interlace=1))


def bmp24(w, h):
    row = (w * 3 + 3) & ~3
    pixels = b"".join(bytes([x * 40, y * 80, 200] * 1)[:3] for y in range(h) for x in range(w))
    data = b""
    for y in range(h):
        r = pixels[y * w * 3:(y + 1) * w * 3]
        data += r + b"\x00" * (row - len(r))
    hdr = struct.pack("<2sIHHI", b"BM", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return hdr + info + data


def others():
    put("image_decode", "rgb24.bmp", bmp24(3, 2))
    # TGA, uncompressed true colour, 2x2
    put("image_decode", "rgb.tga", struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 2, 2, 24, 0) + bytes(range(12)))
    put("image_decode", "rgb.ppm", b"P6\n2 2\n255\n" + bytes(range(12)))
    # GIF89a, 1x1, global colour table of 2
    put("image_decode", "one.gif", bytes.fromhex("4749463839610100010080000000000000ffffff2c00000000010001000002024401003b"))


def exif_block(order, orientation):
    e = "<" if order == b"II" else ">"
    tiff = order + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1)
    tiff += struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0)
    return tiff


def exifs():
    put("exif", "le_6", b"Exif\x00\x00" + exif_block(b"II", 6))
    put("exif", "be_8", b"Exif\x00\x00" + exif_block(b"MM", 8))
    put("exif", "bare_3", exif_block(b"II", 3))


def lnet_maps():
    # 20 parameter bytes, map 6x5, cell 4x4, 8 faces, min side 4, 1-3 maps, decode_passes / decode.
    params = bytes([128, 128, 40, 26, 77, 0, 0, 0, 128, 128, 0, 100, 0, 0, 32, 1, 13, 0, 0, 128])
    peak = bytes([0, 10, 20, 10, 0, 10, 200, 240, 200, 10, 0, 200, 250, 200, 0, 0, 10, 20, 10, 0,
                  0, 0, 0, 0, 255, 254, 0, 0, 0, 253])
    put("lnet_decode", "one_pass", params + bytes([6, 5, 4, 4, 8, 4, 1, 0]) + peak)
    put("lnet_decode", "coarse", params[:5] + bytes([129]) + params[6:] + bytes([6, 5, 4, 4, 8, 4, 2, 1]) + peak * 2)
    put("lnet_decode", "pyramid", params[:10] + bytes([3, 100, 60]) + params[13:] + bytes([6, 5, 4, 4, 8, 4, 3, 0]) + peak * 3)
    put("lnet_decode", "dense", params[:13] + bytes([1]) + params[14:] + bytes([6, 5, 4, 4, 8, 4, 1, 0]) + peak * 5)


def frames():
    # format/session byte, width, height (LE), stride rule, amount, pixels.
    def frame(flags, w, h, rule, amount, px):
        return bytes([flags]) + struct.pack("<HH", w, h) + bytes([rule, amount]) + px
    skin = bytes([224, 172, 150, 40, 60, 80]) * 8
    put("session_predict", "localise_64x48", frame(4, 64, 48, 0, 0, skin))
    put("session_predict", "whole_33x17_rgba_pad", frame(1, 33, 17, 1, 5, skin))
    put("session_predict", "one_pixel", frame(4, 1, 1, 0, 0, b"\x80\x80\x80"))
    put("session_predict", "short_stride", frame(2, 16, 16, 2, 3, skin))
    put("session_predict", "crop_bgra", frame(16 | 3, 40, 30, 0, 0, skin))


if __name__ == "__main__":
    pngs()
    others()
    exifs()
    lnet_maps()
    frames()
