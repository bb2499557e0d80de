// The wasm module (SIMD flavour, through the package's engine, web/src/core.js)
// against the native CLI on the same model and pixels, plus error behaviour.
//
// Inputs: the first 6 CelebA test crops, decoded once to RGB and written as PPM
// (so the native CLI and the module see identical pixels), and 3 synthetic
// images of other sizes. The native side runs `faceattr predict --json` with the
// same kernel family (--backend simd / reference) and the same model.
//
// Tolerance: max |p_wasm - p_native| per attribute probability <= 1e-5 for the
// int8 and the fp32 model, with either kernel family. Measured: <= 9e-7, i.e.
// the CLI's 6-decimal rounding: both builds compute the same numbers. The
// bound leaves room for float rounding differences (x86 Highway fuses
// multiply-adds, WASM SIMD128 cannot) but an int8 value pushed one step across
// a rounding boundary (about 1e-3 in p for the shipped model) would fail it.
// Decided attributes (present) must be equal wherever p is further than the
// tolerance from the threshold. Boxes: within 1e-3 px.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { BUILD, MODELS, NATIVE_FIXTURES, OUT, decodeJpeg, loadEngineModule, need, nativePredict, testCrops, writePpm } from './lib.mjs';

const TOL = { 'anet-int8.fam': 1e-5, 'anet-fp32.fam': 1e-5 };

function synthetic(width, height, seed) {
  const rgb = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let y = 0; y < height; ++y) {
    for (let x = 0; x < width; ++x) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const noise = (s >>> 24) & 31;
      const d = Math.hypot(x - width / 2, y - height / 2) / Math.min(width, height);
      const i = 3 * (y * width + x);
      rgb[i] = (200 - 150 * d + noise) & 255;
      rgb[i + 1] = ((x * 255) / width + noise) & 255;
      rgb[i + 2] = ((y * 255) / height) & 255;
    }
  }
  return { width, height, rgb };
}

const dir = path.join(OUT, 'parity');
fs.mkdirSync(dir, { recursive: true });
const images = [];
for (const f of testCrops(6)) {
  const img = await decodeJpeg(f);
  images.push({ ...img, file: writePpm(path.join(dir, `${path.basename(f, '.jpg')}.ppm`), img) });
}
for (const [w, h, seed] of [[320, 240, 1], [64, 48, 2], [501, 333, 3]]) {
  const img = synthetic(w, h, seed);
  images.push({ ...img, file: writePpm(path.join(dir, `synthetic-${w}x${h}.ppm`), img) });
}
const { core, module } = await loadEngineModule('simd');

function compare(name, wasm, native, tol, thresholds) {
  assert.equal(wasm.faces.length, native.faces.length, `${name}: number of faces`);
  let worst = 0;
  wasm.faces.forEach((wf, k) => {
    const nf = native.faces[k];
    const box = [wf.box.x, wf.box.y, wf.box.width, wf.box.height];
    box.forEach((v, j) => assert.ok(Math.abs(v - nf.box[j]) <= 1e-3, `${name}: box ${box} vs ${nf.box}`));
    assert.ok(Math.abs(wf.score - nf.score) <= 1e-4, `${name}: score`);
    wf.attributes.forEach((a, i) => {
      const n = nf.attributes[a.name];
      assert.ok(n, `${name}: native output lacks ${a.name}`);
      const d = Math.abs(a.probability - n.p);
      worst = Math.max(worst, d);
      assert.ok(d <= tol, `${name}: ${a.name} p=${a.probability} native ${n.p} (|diff| ${d} > ${tol})`);
      if (Math.abs(n.p - thresholds[i]) > tol) assert.equal(a.present, n.present, `${name}: ${a.name} decided`);
    });
  });
  return worst;
}

for (const modelName of ['anet-int8.fam', 'anet-fp32.fam']) {
  for (const kernels of ['simd', 'reference']) {
    test(`${modelName} ${kernels} kernels: wasm equals native on ${images.length} images`, () => {
      const model = fs.readFileSync(path.join(MODELS, modelName));
      const engine = core.Engine.create(module, { model, kernels });
      try {
        assert.equal(engine.kernels, kernels);
        assert.equal(engine.nAttributes, 40);
        const native = nativePredict(images.map((i) => i.file), { model: path.join(MODELS, modelName), backend: kernels });
        const thresholds = engine.attributes.map((a) => a.threshold);
        let worst = 0;
        images.forEach((img, k) => {
          const r = engine.predict(img.rgb, img.width, img.height, 'rgb');
          worst = Math.max(worst, compare(path.basename(img.file), r, native[k], TOL[modelName], thresholds));
        });
        console.log(`# ${modelName} ${kernels}: max |p_wasm - p_native| = ${worst.toExponential(2)} (tolerance ${TOL[modelName]})`);
      } finally {
        engine.close();
      }
    });
  }
}

test('pixel formats and the crop path agree', () => {
  const engine = core.Engine.create(module, { model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')) });
  try {
    const { width, height, rgb } = images[0];
    const base = engine.predict(rgb, width, height, 'rgb');
    const n = width * height;
    const rgba = new Uint8Array(n * 4), bgr = new Uint8Array(n * 3), bgra = new Uint8Array(n * 4);
    for (let i = 0; i < n; ++i) {
      const [r, g, b] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
      rgba.set([r, g, b, 255], 4 * i);
      bgr.set([b, g, r], 3 * i);
      bgra.set([b, g, r, 7], 4 * i);
    }
    const probs = (r) => r.faces[0].attributes.map((a) => a.probability);
    for (const [px, fmt] of [[rgba, 'rgba'], [bgr, 'bgr'], [bgra, 'bgra']]) {
      assert.deepEqual(probs(engine.predict(px, width, height, fmt)), probs(base), fmt);
    }
    // Without a localiser predict takes the whole (centre-cropped) image: the crop path agrees.
    const crop = engine.predict(rgb, width, height, 'rgb', { crop: true });
    assert.deepEqual(probs(crop), probs(base));
    assert.deepEqual(crop.faces[0].box, { x: 0, y: 0, width, height });
  } finally {
    engine.close();
  }
});

test('bad inputs throw FaceAttrError with the SDK message; the session keeps working', () => {
  const model = fs.readFileSync(path.join(MODELS, 'anet-int8.fam'));
  const engine = core.Engine.create(module, { model });
  try {
    const { width, height, rgb } = images[1];
    const good = () => engine.predict(rgb, width, height, 'rgb').faces[0].attributes.map((a) => a.probability);
    const before = good();
    const cases = [
      ['zero width', () => engine.predict(rgb, 0, height, 'rgb'), /size/],
      ['fractional size', () => engine.predict(rgb, 10.5, 4, 'rgb'), /size/],
      ['short buffer', () => engine.predict(rgb.subarray(0, 100), width, height, 'rgb'), /needs/],
      ['unknown format', () => engine.predict(rgb, width, height, 'yuv'), /format/],
      ['not pixels', () => engine.predict([1, 2, 3], 1, 1, 'rgb'), /Uint8Array/],
      // Straight to the SDK through the heap buffer: its own checks and messages.
      ['negative size (SDK)', () => engine.predictFrame(-4, 10, 40, 'rgba'), /size must be positive/],
      ['stride too small (SDK)', () => engine.predictFrame(width, height, width * 2, 'rgb'), /stride/],
      ['frame past the buffer', () => engine.predictFrame(width, height * 100, width * 3, 'rgb'), /exceeds/],
    ];
    for (const [what, fn, re] of cases) {
      assert.throws(fn, (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_INVALID_ARGUMENT' &&
                               re.test(e.message), what);
      assert.deepEqual(good(), before, `session still gives the same result after: ${what}`);
    }
    // Bad models: refused with the SDK's reason; other sessions unaffected.
    const corrupt = new Uint8Array(model);
    corrupt[corrupt.length >> 1] ^= 0x5a;
    const badModels = [
      ['empty', new Uint8Array(0)],
      ['truncated', model.subarray(0, 1000)],
      ['corrupt byte', corrupt],
      ['not a model', new TextEncoder().encode('hello, this is not a model file at all')],
    ];
    for (const [what, bytes] of badModels) {
      assert.throws(() => core.Engine.create(module, { model: bytes }),
                    (e) => e instanceof core.FaceAttrError && /^FACEATTR_ERR_(MODEL_FORMAT|INVALID_ARGUMENT)$/.test(e.code) &&
                           e.message.length > 0 && !/Aborted|RuntimeError/.test(e.message),
                    what);
      assert.deepEqual(good(), before, `session unaffected by model: ${what}`);
    }
    assert.throws(() => core.Engine.create(module, { model: 'models/anet-int8.fam' }), /bytes/);
    assert.throws(() => core.Engine.create(module, { model, kernels: 'xnnpack' }), /kernels/);
    engine.close();
    assert.throws(() => engine.predict(rgb, width, height, 'rgb'), /closed/);
  } finally {
    engine.close();
  }
});

test('whole-image mode: a frame under 12 px on a side holds no face; the crop path still reads it', () => {
  const engine = core.Engine.create(module, { model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')) });
  try {
    for (const [w, h, faces] of [[1, 1, 0], [11, 40, 0], [40, 11, 0], [12, 12, 1], [12, 30, 1]]) {
      const px = new Uint8Array(w * h * 3).fill(120);
      assert.equal(engine.predict(px, w, h, 'rgb').faces.length, faces, `${w}x${h}`);
      assert.equal(engine.predict(px, w, h, 'rgb', { crop: true }).faces.length, 1, `${w}x${h} crop`);
    }
  } finally {
    engine.close();
  }
});

test('many frames of changing sizes reuse the heap frame buffer without growing memory', () => {
  const engine = core.Engine.create(module, { model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')) });
  try {
    const sizes = images.map((i) => i.rgb.length);
    engine.predict(images[sizes.indexOf(Math.max(...sizes))].rgb, ...dims(images[sizes.indexOf(Math.max(...sizes))]), 'rgb');
    const heap = module.HEAPU8.length;
    for (let k = 0; k < 50; ++k) {
      const img = images[k % images.length];
      assert.equal(engine.predict(img.rgb, img.width, img.height, 'rgb').faces.length, 1);
    }
    assert.equal(module.HEAPU8.length, heap);
  } finally {
    engine.close();
  }
});

function dims(img) {
  return [img.width, img.height];
}

// With the shipped localiser (models/lnet-int8.fam, when present): on the test
// crops and on scenes with crops pasted in smaller, faces, boxes, scores and
// attributes equal the native CLI's with the same two models. This checks the
// wasm build against native, not what the model finds (its own tests do that).
const LNET = path.join(MODELS, 'lnet-int8.fam');
test('shipped LNet + ANet: faces, boxes and attributes equal native', { skip: !fs.existsSync(LNET) && 'models/lnet-int8.fam not shipped yet' }, () => {
  const anetFile = path.join(MODELS, 'anet-int8.fam');
  const engine = core.Engine.create(module, { model: fs.readFileSync(anetFile), lnetModel: fs.readFileSync(LNET), kernels: 'simd' });
  try {
    assert.equal(engine.hasLocalizer, true);
    const inputs = [...images, ...scenes()];
    const native = nativePredict(inputs.map((i) => i.file), { model: anetFile, backend: 'simd', lnet: LNET });
    const thresholds = engine.attributes.map((a) => a.threshold);
    let found = 0;
    inputs.forEach((img, k) => {
      const r = engine.predict(img.rgb, img.width, img.height, 'rgb');
      compare(path.basename(img.file), r, native[k], TOL['anet-int8.fam'], thresholds);
      found += r.faces.length;
      const map = engine.responseMap();
      assert.ok(map && map.width > 0 && map.height > 0 && map.data.length === map.width * map.height);
    });
    console.log(`# shipped LNet: ${found} faces in ${inputs.length} images, all equal to native`);
  } finally {
    engine.close();
  }
});

test('views: 2 (a second, mirrored view per face) equals native --views 2 and differs from one view', { skip: !fs.existsSync(LNET) && 'models/lnet-int8.fam not shipped yet' }, () => {
  const anetFile = path.join(MODELS, 'anet-int8.fam');
  const opts = { model: fs.readFileSync(anetFile), lnetModel: fs.readFileSync(LNET), kernels: 'simd' };
  assert.throws(() => core.Engine.create(module, { ...opts, views: 3 }),
                (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_INVALID_ARGUMENT' && /views/.test(e.message));
  const one = core.Engine.create(module, opts);
  const two = core.Engine.create(module, { ...opts, views: 2 });
  try {
    const inputs = [...images, ...scenes()];
    const native = nativePredict(inputs.map((i) => i.file), { model: anetFile, backend: 'simd', lnet: LNET, views: 2 });
    const thresholds = two.attributes.map((a) => a.threshold);
    let faces = 0, moved = 0;
    inputs.forEach((img, k) => {
      const r = two.predict(img.rgb, img.width, img.height, 'rgb');
      compare(path.basename(img.file), r, native[k], TOL['anet-int8.fam'], thresholds);
      const r1 = one.predict(img.rgb, img.width, img.height, 'rgb');
      assert.equal(r1.faces.length, r.faces.length);
      r.faces.forEach((f, i) => {
        faces++;
        f.attributes.forEach((a, j) => { if (Math.abs(a.probability - r1.faces[i].attributes[j].probability) > 1e-3) moved++; });
      });
    });
    assert.ok(faces >= 6, `${faces} faces`);
    assert.ok(moved >= faces * 10, `only ${moved} of ${faces * 40} probabilities move with the second view`);
    console.log(`# views 2: ${faces} faces equal to native; ${moved} of ${faces * 40} probabilities differ from one view by > 1e-3`);
  } finally {
    one.close();
    two.close();
  }
});

// 320x240 noise backgrounds with test crops pasted at 0.45 to 1x (nearest neighbour).
function scenes() {
  const W = 320, H = 240;
  return [[0.6, [[100, 50]]], [0.45, [[20, 60], [190, 70]]], [1.0, [[60, 10]]]].map(([s, at], n) => {
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < rgb.length; ++i) rgb[i] = 90 + ((Math.imul(i, 2654435761) >>> 27) & 31);
    at.forEach(([x0, y0], k) => {
      const src = images[k];
      const w = Math.min(W - x0, Math.round(src.width * s)), h = Math.min(H - y0, Math.round(src.height * s));
      for (let y = 0; y < h; ++y) {
        for (let x = 0; x < w; ++x) {
          const si = 3 * (Math.min(src.height - 1, Math.floor(y / s)) * src.width + Math.min(src.width - 1, Math.floor(x / s)));
          rgb.set(src.rgb.subarray(si, si + 3), 3 * ((y0 + y) * W + x0 + x));
        }
      }
    });
    const img = { width: W, height: H, rgb };
    return { ...img, file: writePpm(path.join(dir, `scene-${n}.ppm`), img) };
  });
}

// The localiser path with the native tests' hand-weighted tiny LNet (its response
// follows R - G): a grey frame with two red squares has two faces, and boxes,
// scores and attributes equal the native CLI's with the same two models.
test('LNet (tiny, hand-weighted): two faces with boxes equal native; response map; bad LNet refused', () => {
  const fixtures = path.join(OUT, 'native_fixtures');
  execFileSync(need(NATIVE_FIXTURES, 'build the native release preset (faceattr_native_fixtures)'), [fixtures]);
  const lnetFile = need(path.join(fixtures, 'lnet', 'lnet-tiny.fam'), 'faceattr_native_fixtures writes lnet/lnet-tiny.fam');
  const anetFile = path.join(MODELS, 'anet-int8.fam');
  const width = 320, height = 240;
  const rgb = new Uint8Array(width * height * 3).fill(128);
  for (const [x0, y0, s] of [[40, 60, 60], [200, 80, 80]]) {
    for (let y = y0; y < y0 + s; ++y) for (let x = x0; x < x0 + s; ++x) rgb.set([230, 30, 30], 3 * (y * width + x));
  }
  const ppm = writePpm(path.join(OUT, 'parity', 'red-squares.ppm'), { width, height, rgb });
  const lnet = fs.readFileSync(lnetFile);
  const engine = core.Engine.create(module, { model: fs.readFileSync(anetFile), lnetModel: lnet, kernels: 'simd' });
  try {
    assert.equal(engine.hasLocalizer, true);
    const r = engine.predict(rgb, width, height, 'rgb');
    const native = nativePredict([ppm], { model: anetFile, backend: 'simd', lnet: lnetFile })[0];
    assert.equal(r.faces.length, 2);
    compare('red-squares', r, native, TOL['anet-int8.fam'], engine.attributes.map((a) => a.threshold));
    assert.ok(r.timings.lnetMs > 0);
    const map = engine.responseMap();
    assert.ok(map.width > 0 && map.height > 0 && map.data.length === map.width * map.height);
    assert.ok(map.data.every((v) => v >= 0 && v <= 1));
    // The map's hottest cell lies inside one of the squares.
    const hot = map.data.indexOf(Math.max(...map.data));
    const cx = map.originX + ((hot % map.width) + 0.5) * map.cellWidth;
    const cy = map.originY + (Math.floor(hot / map.width) + 0.5) * map.cellHeight;
    assert.ok(r.faces.some((f) => cx >= f.box.x && cx <= f.box.x + f.box.width && cy >= f.box.y && cy <= f.box.y + f.box.height),
              `hot cell (${cx}, ${cy})`);
  } finally {
    engine.close();
  }
  const corrupt = new Uint8Array(lnet);
  corrupt[corrupt.length >> 1] ^= 0x5a;
  assert.throws(() => core.Engine.create(module, { model: fs.readFileSync(anetFile), lnetModel: corrupt }),
                (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_MODEL_FORMAT');
  // Without LNet there is no response map.
  const plain = core.Engine.create(module, { model: fs.readFileSync(anetFile) });
  try {
    assert.equal(plain.hasLocalizer, false);
    plain.predict(rgb, width, height, 'rgb');
    assert.equal(plain.responseMap(), null);
  } finally {
    plain.close();
  }
});

// localize: false with an LNet: whole-image mode, exactly the face of a session without one.
test('LNet with localize: false gives one face, the whole-image one', () => {
  const fixtures = path.join(OUT, 'native_fixtures');
  execFileSync(need(NATIVE_FIXTURES, 'build the native release preset (faceattr_native_fixtures)'), [fixtures]);
  const lnet = fs.readFileSync(need(path.join(fixtures, 'lnet', 'lnet-tiny.fam'), 'faceattr_native_fixtures writes lnet/lnet-tiny.fam'));
  const anet = fs.readFileSync(path.join(MODELS, 'anet-int8.fam'));
  const width = 320, height = 240;
  const rgb = new Uint8Array(width * height * 3).fill(128);
  for (const [x0, y0, s] of [[40, 60, 60], [200, 80, 80]]) {
    for (let y = y0; y < y0 + s; ++y) for (let x = x0; x < x0 + s; ++x) rgb.set([230, 30, 30], 3 * (y * width + x));
  }
  const off = core.Engine.create(module, { model: anet, lnetModel: lnet, localize: false, kernels: 'simd' });
  const plain = core.Engine.create(module, { model: anet, kernels: 'simd' });
  const on = core.Engine.create(module, { model: anet, lnetModel: lnet, kernels: 'simd' });
  try {
    assert.equal(off.hasLocalizer, false);
    assert.equal(on.hasLocalizer, true);
    const r = off.predict(rgb, width, height, 'rgb');
    const want = plain.predict(rgb, width, height, 'rgb');
    assert.equal(r.faces.length, 1);
    assert.deepEqual(r.faces, want.faces);
    assert.equal(r.faces[0].score, 1);
    assert.equal(r.timings.lnetMs, 0);
    assert.equal(off.responseMap(), null);
    assert.equal(on.predict(rgb, width, height, 'rgb').faces.length, 2);
  } finally {
    off.close();
    plain.close();
    on.close();
  }
  assert.throws(() => core.Engine.create(module, { model: anet, lnetModel: lnet, localize: 'no' }),
                (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_INVALID_ARGUMENT');
});

// A dense box-map LNet (5 output channels per cell): faces and boxes equal the native CLI's;
// the response map is channel 0 (the face score), one float per cell.
test('dense box-map LNet (5 channels): faces equal native, response map = channel 0', () => {
  const fixtures = path.join(OUT, 'native_fixtures');
  execFileSync(need(NATIVE_FIXTURES, 'build the native release preset (faceattr_native_fixtures)'), [fixtures]);
  const lnetFile = need(path.join(fixtures, 'lnet', 'lnet-tiny-dense.fam'), 'faceattr_native_fixtures writes lnet/lnet-tiny-dense.fam');
  const anetFile = path.join(MODELS, 'anet-int8.fam');
  // 320x240 = 2x the 160x120 input: 8 px cells; a red 8x8 square fills map cell (row 10, column 20).
  const width = 320, height = 240;
  const rgb = new Uint8Array(width * height * 3).fill(128);
  for (let y = 80; y < 88; ++y) for (let x = 160; x < 168; ++x) rgb.set([255, 0, 0], 3 * (y * width + x));
  const ppm = writePpm(path.join(OUT, 'parity', 'dense-square.ppm'), { width, height, rgb });
  const engine = core.Engine.create(module, { model: fs.readFileSync(anetFile), lnetModel: fs.readFileSync(lnetFile), kernels: 'simd' });
  try {
    const r = engine.predict(rgb, width, height, 'rgb');
    const native = nativePredict([ppm], { model: anetFile, backend: 'simd', lnet: lnetFile })[0];
    assert.equal(r.faces.length, 1);
    compare('dense-square', r, native, TOL['anet-int8.fam'], engine.attributes.map((a) => a.threshold));
    // The decode rule (lnet_decode.h) with the fixture's constants: box_min 8, box_max 128,
    // offsets sigmoid(0.5), sigmoid(-0.25), sides sigmoid(0), sigmoid(0.3); frame = 2 x input.
    const sig = (v) => 1 / (1 + Math.exp(-v));
    const w = 8 * 16 ** sig(0), h = 8 * 16 ** sig(0.3);
    const cx = (20.5 + 2 * sig(0.5) - 1) * 4, cy = (10.5 + 2 * sig(-0.25) - 1) * 4;
    const b = r.faces[0].box;
    for (const [got, want] of [[b.x, 2 * (cx - w / 2)], [b.y, 2 * (cy - h / 2)], [b.width, 2 * w], [b.height, 2 * h]]) {
      assert.ok(Math.abs(got - want) < 1e-2, `box ${JSON.stringify(b)}`);
    }
    const map = engine.responseMap();
    assert.equal(map.width, 40);
    assert.equal(map.height, 30);
    assert.equal(map.data.length, 40 * 30);
    assert.ok(Math.abs(map.data[10 * 40 + 20] - sig(6)) < 1e-4);
    for (let i = 0; i < map.data.length; ++i) if (i !== 10 * 40 + 20) assert.ok(Math.abs(map.data[i] - sig(-6)) < 1e-4);
  } finally {
    engine.close();
  }
});

// Decision thresholds: the native fixtures' anet-balanced.fam (both policies) on a grey frame,
// where half the attributes lie between the two policies' thresholds; expected_thresholds.json
// has p and the present flags of each (make_fixtures.cpp). The fixtures' anet-brightness.fam has
// no balanced ones; the shipped ANet has both.
test('thresholds: accuracy or balanced at create and by setThresholds; refused for a model without them', async () => {
  const fixtures = path.join(OUT, 'native_fixtures');
  execFileSync(need(NATIVE_FIXTURES, 'build the native release preset (faceattr_native_fixtures)'), [fixtures]);
  const model = fs.readFileSync(need(path.join(fixtures, 'anet-balanced.fam'), 'faceattr_native_fixtures writes anet-balanced.fam'));
  const exp = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected_thresholds.json'), 'utf8'));
  const grey = new Uint8Array(20 * 20 * 3).fill(128);
  const decided = (engine, policy, opts = {}) => {
    const r = engine.predict(grey, 20, 20, 'rgb', opts);
    assert.equal(r.faces.length, 1);
    r.faces[0].attributes.forEach((a, i) => {
      assert.ok(Math.abs(a.probability - exp.p[i]) < 1e-4, `${a.name}: p ${a.probability}, want ${exp.p[i]}`);
      assert.equal(a.present, exp.present[policy][i], `${policy} ${a.name}${opts.crop ? ' (crop)' : ''}${opts.track ? ' (tracked)' : ''}`);
    });
    engine.attributes.forEach((a, i) => assert.equal(a.threshold, Math.fround(exp.thresholds[policy][i]), `${policy} ${a.name} threshold`));
  };
  const engine = core.Engine.create(module, { model, kernels: 'simd' });
  try {
    assert.deepEqual(engine.thresholdPolicies, ['accuracy', 'balanced']);
    assert.equal(engine.thresholds, 'accuracy');
    decided(engine, 'accuracy');
    decided(engine, 'accuracy', { track: true });
    engine.setThresholds('balanced');
    assert.equal(engine.thresholds, 'balanced');
    decided(engine, 'balanced');
    decided(engine, 'balanced', { crop: true });
    decided(engine, 'balanced', { track: true });  // the same track, decided afresh
    assert.throws(() => engine.setThresholds('best'), (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_INVALID_ARGUMENT');
    assert.equal(engine.thresholds, 'balanced');
    engine.setThresholds('accuracy');
    decided(engine, 'accuracy', { track: true });
  } finally {
    engine.close();
  }
  const balanced = core.Engine.create(module, { model, thresholds: 'balanced' });
  try {
    assert.equal(balanced.thresholds, 'balanced');
    decided(balanced, 'balanced');
  } finally {
    balanced.close();
  }
  // FaceAttr's side of it (the Runner, in the page or the worker): info() after a switch.
  const { Runner } = await import(pathToFileURL(path.join(BUILD, 'web/src/runner.js')).href);
  const runner = await Runner.create({ model, thresholds: 'balanced' },
                                     { flavour: 'simd', distUrl: undefined, threads: undefined, promise: Promise.resolve(module) });
  try {
    let info = runner.info();
    assert.equal(info.thresholds, 'balanced');
    assert.deepEqual(info.thresholdPolicies, ['accuracy', 'balanced']);
    info = runner.setThresholds('accuracy');
    assert.equal(info.thresholds, 'accuracy');
    info.attributes.forEach((a, i) => assert.equal(a.threshold, Math.fround(exp.thresholds.accuracy[i])));
  } finally {
    runner.close();
  }

  const shipped = core.Engine.create(module, { model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')) });
  try {
    assert.deepEqual(shipped.thresholdPolicies, ['accuracy', 'balanced']);
  } finally {
    shipped.close();
  }
  const plain = fs.readFileSync(need(path.join(fixtures, 'anet-brightness.fam'), 'faceattr_native_fixtures writes anet-brightness.fam'));
  const unsupported = (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_UNSUPPORTED' && /no balanced thresholds/.test(e.message);
  assert.throws(() => core.Engine.create(module, { model: plain, thresholds: 'balanced' }), unsupported);
  assert.throws(() => core.Engine.create(module, { model: plain, thresholds: 'recall' }),
                (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_INVALID_ARGUMENT');
  const accuracyOnly = core.Engine.create(module, { model: plain });
  try {
    assert.deepEqual(accuracyOnly.thresholdPolicies, ['accuracy']);
    const before = accuracyOnly.attributes.map((a) => a.threshold);
    assert.throws(() => accuracyOnly.setThresholds('balanced'), unsupported);
    assert.equal(accuracyOnly.thresholds, 'accuracy');
    assert.deepEqual(accuracyOnly.attributes.map((a) => a.threshold), before);
  } finally {
    accuracyOnly.close();
  }
});
