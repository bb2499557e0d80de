// Deterministic frames of the soak runs (soak_node.mjs, soak_browser.mjs), the
// same recipe as soak_native.cpp: a gradient with noise and zero to three drawn
// faces (a skin-toned ellipse with hair, brows, eyes, nose and mouth).

export const CHANNELS = { rgb: 3, rgba: 4, bgr: 3, bgra: 4 };

/** xorshift32 */
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  return { next, uniform: () => (next() >>> 8) / 16777216 };
}

/**
 * A frame of width x height pixels in `format` (rgb, rgba, bgr, bgra), rows
 * packed, with `faces` faces side by side along the longer side.
 * Returns {pixels: Uint8Array, width, height, format, faces}.
 */
export function makeFrame(width, height, format, faces, seed) {
  const ch = CHANNELS[format];
  const bgr = format.startsWith('bgr');
  const pixels = new Uint8Array(width * height * ch);
  if (ch === 4) pixels.fill(255);
  const r = rng(seed);
  const put = (x, y, rgb) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const o = (y * width + x) * ch;
    for (let c = 0; c < 3; ++c) pixels[o + c] = Math.max(0, Math.min(255, Math.round(rgb[bgr ? 2 - c : c])));
  };
  const ellipse = (cx, cy, rx, ry, rgb) => {
    if (rx <= 0 || ry <= 0) return;
    for (let y = Math.floor(cy - ry); y <= Math.ceil(cy + ry); ++y) {
      for (let x = Math.floor(cx - rx); x <= Math.ceil(cx + rx); ++x) {
        const dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
        if (dx * dx + dy * dy <= 1) put(x, y, rgb);
      }
    }
  };
  for (let y = 0; y < height; ++y) {
    for (let x = 0; x < width; ++x) {
      const noise = r.next() >>> 27;
      put(x, y, [60 + (120 * x) / width + noise, 110 + noise, 90 + (100 * y) / height]);
    }
  }
  const wide = width >= height;
  const along = wide ? width : height;
  const across = wide ? height : width;
  for (let k = 0; k < faces; ++k) {
    const slot = along / faces;
    const h = Math.min(0.75 * across, (0.9 * slot) / 0.78) * (0.7 + 0.3 * r.uniform());
    const a = slot * (k + 0.5);
    const b = across * (0.4 + 0.2 * r.uniform());
    const [cx, cy] = wide ? [a, b] : [b, a];
    const tone = 0.85 + 0.3 * r.uniform();
    const w = 0.78 * h;
    const hair = [60 * tone, 40 * tone, 30 * tone];
    ellipse(cx, cy - 0.12 * h, 0.56 * w, 0.52 * h, hair);
    ellipse(cx, cy, 0.5 * w, 0.5 * h, [215 * tone, 165 * tone, 135 * tone]);
    for (const side of [-1, 1]) {
      const ex = cx + side * 0.2 * w, ey = cy - 0.08 * h;
      ellipse(ex, ey - 0.1 * h, 0.12 * w, 0.025 * h, hair);
      ellipse(ex, ey, 0.1 * w, 0.045 * h, [235, 235, 230]);
      ellipse(ex, ey, 0.045 * w, 0.04 * h, [35, 30, 30]);
    }
    ellipse(cx, cy + 0.08 * h, 0.06 * w, 0.1 * h, [190 * tone, 140 * tone, 115 * tone]);
    ellipse(cx, cy + 0.26 * h, 0.2 * w, 0.045 * h, [170, 80, 80]);
  }
  return { pixels, width, height, format, faces };
}

/** width, height, faces drawn: 32x32 up to 640x480, landscape, portrait, square and strips. */
export const SIZES = [
  [32, 32, 0], [48, 64, 1], [64, 48, 1], [96, 96, 1], [160, 40, 0], [40, 160, 1],
  [160, 120, 1], [120, 160, 2], [320, 240, 2], [200, 200, 1], [480, 360, 3], [640, 480, 3],
];

/** The soak frame set: every size in every format (48 frames). */
export function frameSet() {
  const frames = [];
  let seed = 12345;
  for (const [w, h, faces] of SIZES) {
    for (const format of ['rgb', 'rgba', 'bgr', 'bgra']) {
      frames.push(makeFrame(w, h, format, faces, seed));
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    }
  }
  return frames;
}

export function kb(bytes) {
  return Math.round(bytes / 1024);
}
