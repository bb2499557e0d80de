// Shared helpers of the browser-module tests (node.test.mjs, browser.test.mjs)
// and the browser bench (bench.mjs). Paths come from the environment that
// tests/wasm.cmake sets: FACEATTR_WASM_BUILD (the wasm build dir),
// FACEATTR_NATIVE_CLI (a native `faceattr`), FACEATTR_DATA_DIR (../shared/data).
import fs from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.resolve(process.env.FACEATTR_WASM_BUILD || path.join(REPO, 'build-wasm'));
export const NATIVE_CLI = process.env.FACEATTR_NATIVE_CLI || path.join(REPO, 'build/bin/faceattr');
/** The native test-fixture writer (its tiny hand-weighted LNet), beside the CLI in a native build. */
export const NATIVE_FIXTURES = process.env.FACEATTR_NATIVE_FIXTURES || path.join(path.dirname(NATIVE_CLI), 'faceattr_native_fixtures');
export const DATA_DIR = path.resolve(process.env.FACEATTR_DATA_DIR || path.join(REPO, '../shared/data'));
export const MODELS = path.resolve(process.env.FACEATTR_MODELS_DIR || path.join(REPO, 'models'));
export const OUT = path.join(BUILD, 'tests', 'web');
fs.mkdirSync(OUT, { recursive: true });

export function need(file, hint) {
  if (!fs.existsSync(file)) throw new Error(`${file} not found: ${hint}`);
  return file;
}

/** The n first test-crop photos (sorted by name): deterministic inputs. */
export function testCrops(n) {
  const dir = need(path.join(DATA_DIR, 'celeba', 'test_crops'), 'set FACEATTR_DATA_DIR to the dataset folder');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, n).map((f) => path.join(dir, f));
}

/** Loads a flavour of the package's engine from the build (node: .wasm bytes handed in). */
export async function loadEngineModule(flavour = 'simd') {
  const core = await import(pathToFileURL(path.join(BUILD, 'web/src/core.js')).href);
  const name = core.FLAVOURS[flavour];
  const wasmBinary = fs.readFileSync(need(path.join(BUILD, 'web/dist', `${name}.wasm`), 'build the wasm preset'));
  return { core, module: await core.loadModule(flavour, { wasmBinary }) };
}

let decoder = null;
/** JPEG -> {width, height, rgb} with the test helper module (stb_image in wasm). */
export async function decodeJpeg(file) {
  if (!decoder) {
    const js = need(path.join(BUILD, 'tests/web/faceattr-test-decode.js'), 'build the wasm preset');
    const { default: factory } = await import(pathToFileURL(js).href);
    decoder = await factory({ wasmBinary: fs.readFileSync(js.replace(/\.js$/, '.wasm')) });
  }
  const M = decoder;
  const bytes = fs.readFileSync(file);
  const p = M._malloc(bytes.length);
  const dims = M._malloc(8);
  try {
    M.HEAPU8.set(bytes, p);
    const px = M._decode_jpeg(p, bytes.length, dims, dims + 4);
    if (!px) throw new Error(`cannot decode ${file}`);
    const width = M.HEAP32[dims / 4];
    const height = M.HEAP32[dims / 4 + 1];
    const rgb = M.HEAPU8.slice(px, px + width * height * 3);
    M._release(px);
    return { width, height, rgb };
  } finally {
    M._free(p);
    M._free(dims);
  }
}

/** The image without its last column / row when odd (y4m frames need even sizes). */
/**
 * The benchmarks' frame: 320x240 RGBA, a gradient with the third test crop pasted
 * at 0.6x in the centre (a face the shipped LNet finds, so ANet runs once).
 */
/** An RGBA scene of width x height with one test-crop face at 0.6 x (height / 240) of its size. */
export async function benchScene(width = 320, height = 240) {
  const crop = await decodeJpeg(testCrops(3)[2]);
  const frame = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; ++y)
    for (let x = 0; x < width; ++x) frame.set([70 + ((x * 320 / width) >> 3), 90, 110 + ((y * 240 / height) >> 2), 255], 4 * (y * width + x));
  const scale = 0.6 * height / 240;
  const ph = Math.min(Math.round(crop.height * scale), height - 10), pw = Math.round(crop.width * scale);
  for (let y = 0; y < ph; ++y) {
    for (let x = 0; x < pw; ++x) {
      const si = 3 * (Math.floor(y / scale) * crop.width + Math.floor(x / scale));
      frame.set([crop.rgb[si], crop.rgb[si + 1], crop.rgb[si + 2], 255], 4 * (((height - ph >> 1) + y) * width + (width - pw >> 1) + x));
    }
  }
  return frame;
}

/**
 * `pixels` (width x height, `channels` interleaved) moved by (dx, dy) whole pixels;
 * the edge pixels fill what moves in. A face that moves between video frames.
 */
export function shiftFrame(pixels, width, height, dx, dy, channels = 4) {
  const out = new Uint8Array(pixels.length);
  for (let y = 0; y < height; ++y) {
    const sy = Math.min(height - 1, Math.max(0, y - dy));
    for (let x = 0; x < width; ++x) {
      const sx = Math.min(width - 1, Math.max(0, x - dx));
      const si = channels * (sy * width + sx);
      out.set(pixels.subarray(si, si + channels), channels * (y * width + x));
    }
  }
  return out;
}

export function evenCrop({ width, height, rgb }) {
  const w = width & ~1;
  const h = height & ~1;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; ++y) out.set(rgb.subarray(y * width * 3, (y * width + w) * 3), y * w * 3);
  return { width: w, height: h, rgb: out };
}

/** An 8-bit RGB PNG (no colour chunks, so a browser decodes the exact pixels). */
export function writePng(file, { width, height, rgb }) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);  // 8 bits, RGB, deflate, no filter method, no interlace
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; ++y) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  fs.writeFileSync(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
                                        chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
  return file;
}

export function writePpm(file, { width, height, rgb }) {
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), Buffer.from(rgb)]));
  return file;
}

/**
 * A .y4m clip (I420, BT.601 video range) of `frames` copies of the image, or of
 * the images of an array (one frame each, all of one size); width and height
 * must be even.
 */
export function writeY4m(file, image, frames = 10) {
  const images = Array.isArray(image) ? image : Array(frames).fill(image);
  const { width, height } = images[0];
  if (width % 2 || height % 2) throw new Error('y4m frames need even sizes');
  const parts = [Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`)];
  for (const img of images) {
    if (img.width !== width || img.height !== height) throw new Error('y4m frames need one size');
    parts.push(Buffer.from('FRAME\n'), i420(img));
  }
  fs.writeFileSync(file, Buffer.concat(parts));
  return file;
}

function i420({ width, height, rgb }) {
  const ySize = width * height;
  const cw = width / 2;
  const ch = height / 2;
  const frame = Buffer.alloc(ySize + 2 * cw * ch);
  // BT.601 video range (Y 16..235, Cb/Cr 16..240): how Chromium's fake capture reads
  // the clip (full-range frames came back with stretched contrast, |dp| up to 0.13).
  const [yo, ys, cs] = [16, 219 / 255, 224 / 255];
  for (let i = 0; i < ySize; ++i) {
    const r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    frame[i] = clamp(yo + ys * (0.299 * r + 0.587 * g + 0.114 * b));
  }
  for (let y = 0; y < ch; ++y) {
    for (let x = 0; x < cw; ++x) {
      let r = 0, g = 0, b = 0;
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const i = (2 * y + dy) * width + 2 * x + dx;
        r += rgb[3 * i]; g += rgb[3 * i + 1]; b += rgb[3 * i + 2];
      }
      r /= 4; g /= 4; b /= 4;
      frame[ySize + y * cw + x] = clamp(128 + cs * (-0.168736 * r - 0.331264 * g + 0.5 * b));
      frame[ySize + cw * ch + y * cw + x] = clamp(128 + cs * (0.5 * r - 0.418688 * g - 0.081312 * b));
    }
  }
  return frame;
}

function clamp(v) {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** `faceattr predict --json` on files: one parsed object per file. */
export function nativePredict(files, { model = path.join(MODELS, 'anet-int8.fam'), backend = 'simd', lnet, views = 1 } = {}) {
  need(NATIVE_CLI, 'build the native CLI (cmake --preset release && cmake --build --preset release) or set FACEATTR_NATIVE_CLI');
  const args = ['predict', '--json', '--model', model, '--backend', backend, '--views', String(views)];
  args.push(...(lnet ? ['--lnet', lnet] : ['--no-lnet']));  // never an LNet the CLI finds by itself
  const out = execFileSync(NATIVE_CLI, [...args, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

export const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Headless Debian Chromium (../shared/TOOLCHAIN.md flags) with a fresh profile; extra flags appended. */
export async function launchChromium(extra = []) {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'faceattr-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.FACEATTR_CHROMIUM || '/usr/bin/chromium',
    headless: false,  // --headless=new comes from the flags
    args: [...CHROMIUM_FLAGS, ...extra],
    viewport: { width: 1280, height: 800 },
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

/** The repository's demo server on a free port. */
export async function startServer({ isolation = true, models = MODELS } = {}) {
  const { createServer } = await import(pathToFileURL(path.join(REPO, 'demo/serve.mjs')).href);
  const server = createServer({ build: BUILD, isolation, models });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, close: () => new Promise((r) => server.close(r)) };
}

/** Records every request of a context and aborts any that leaves `origin`. */
export async function guardOrigin(context, origin) {
  const foreign = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  return foreign;
}
