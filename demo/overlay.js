// The demo's heat-map layer: a canvas over the video (or still image) on which
// an attribute's class-activation map (FaceAttr.explain) is drawn over its
// `map.box`, and the localiser's response map (detect {responseMap: true}) over
// the frame. A map is written one pixel per cell into a small canvas and
// stretched onto the overlay with the 2D context's bilinear smoothing: pixel
// centres land on cell centres, so what is drawn is the bilinear interpolation
// of the cells (clamped at the outer half cells).

export class Overlay {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.cells = document.createElement('canvas');
    this.cellsCtx = this.cells.getContext('2d');
    this.view = null;  // frame pixels -> overlay pixels: {scale, ox, oy}
  }

  /**
   * Clears the layer and fits it to `displayEl` showing a frameWidth x frameHeight
   * frame (object-fit: contain). Returns the overlay's frame-to-CSS-pixel mapping.
   */
  begin(displayEl, frameWidth, frameHeight) {
    const dpr = window.devicePixelRatio || 1;
    const w = displayEl.clientWidth, h = displayEl.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    this.ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const scale = Math.min(w / frameWidth, h / frameHeight);
    this.view = { scale, ox: (w - frameWidth * scale) / 2, oy: (h - frameHeight * scale) / 2 };
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return this.view;
  }

  /**
   * Draws `values` (rows x cols, row-major) over the frame rectangle `box`
   * ([x, y, w, h] in frame pixels), cell colours from colour(v) -> [r, g, b, a]
   * (0..255). `clip`: a frame rectangle to draw inside (the frame itself).
   */
  drawGrid(values, cols, rows, box, colour, clip = null) {
    if (this.cells.width !== cols || this.cells.height !== rows) {
      this.cells.width = cols;
      this.cells.height = rows;
    }
    const img = this.cellsCtx.createImageData(cols, rows);
    for (let i = 0; i < cols * rows; ++i) img.data.set(colour(values[i]), 4 * i);
    this.cellsCtx.putImageData(img, 0, 0);
    const { scale, ox, oy } = this.view;
    const ctx = this.ctx;
    ctx.save();
    if (clip) {
      ctx.beginPath();
      ctx.rect(ox + clip[0] * scale, oy + clip[1] * scale, clip[2] * scale, clip[3] * scale);
      ctx.clip();
    }
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'low';  // bilinear
    ctx.drawImage(this.cells, ox + box[0] * scale, oy + box[1] * scale, box[2] * scale, box[3] * scale);
    ctx.restore();
  }

  /** A ring at frame point (x, y). */
  marker(x, y) {
    const { scale, ox, oy } = this.view;
    const ctx = this.ctx;
    ctx.beginPath();
    ctx.arc(ox + x * scale, oy + y * scale, 6, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
  }
}

/**
 * The colour of track `id` (CSS): hues a golden angle apart, so that tracks
 * started one after another look different; the demo's accent green for none.
 */
export function trackColour(id) {
  if (!(id >= 1)) return '#3ddc84';
  return `hsl(${(140 + (id - 1) * 137.508) % 360}, 75%, 58%)`;
}

/** Heat colour of t in [0, 1]: transparent dark red -> red -> yellow -> white, alpha rising with t. */
export function heat(t, maxAlpha = 0.7) {
  const c = Math.max(0, Math.min(1, t));
  return [255 * Math.min(1, 3 * c), 255 * Math.max(0, Math.min(1, 3 * c - 1)), 255 * Math.max(0, 3 * c - 2), 255 * maxAlpha * Math.sqrt(c)];
}

/**
 * Colours of an attribute map: cells that raise the logit in heat colours scaled
 * to the map's largest one, cells that lower it in faint blue.
 */
export function attributeColours(values) {
  let top = 0;
  for (const v of values) top = Math.max(top, Math.abs(v));
  const k = top > 0 ? 1 / top : 0;
  return (v) => (v >= 0 ? heat(v * k) : [60, 120, 255, 255 * 0.45 * Math.min(1, -v * k)]);
}
