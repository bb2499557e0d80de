// explain() of the browser module (web/src/core.js Engine.explain, through the
// Embind binding) against the native CLI's `faceattr explain --json` on the
// same pixels and models, and detect()'s response-map option (Runner).
//
// Inputs: 4 CelebA test crops (PPM, so both sides decode nothing) and the
// benchmarks' 320x240 and 640x480 scenes with a test crop pasted in. Native:
// `faceattr explain --json --attrs Smiling,Male --backend simd`, with the
// shipped LNet, and without one for the fp32 ANet.
//
// Tolerances (the CLI prints p, logit and map values to 6 decimals, boxes and
// peaks to 3): |p| <= 1e-5, |logit| <= 1e-4, map values <= 1e-4 + 1e-5 |v|
// (values reach about 20; float sums in another order on WASM SIMD128 than on
// x86 Highway), map box and peak <= 2e-3 px. Same faces, same map sizes.
// Measured (6 faces x 2 attributes each): int8 + LNet p 4.7e-7, logit 4.1e-7,
// values 5.0e-7, px 4.7e-4; fp32 p 6.6e-7, logit 8.6e-6, values 2.8e-5, px 4.4e-4:
// the CLI's rounding, and fp32 float order. fp32 also checks mean(map) + bias =
// logit within 1e-4.
// Concepts (both shipped ANets carry concept heads, 5 terms per attribute): the
// same names in the same order as the CLI's, contributions within 1e-3 (the CLI
// rounds them to 4 decimals), sorted by |contribution|; a copy of the model
// with its concepts.* metadata keys renamed gives [] on both sides.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { BUILD, MODELS, NATIVE_CLI, OUT, benchScene, decodeJpeg, loadEngineModule, need, testCrops, writePpm } from './lib.mjs';

const ATTRS = ['Smiling', 'Male'];
const TOL = { p: 1e-5, logit: 1e-4, value: 1e-4, valueRel: 1e-5, px: 2e-3, concept: 1e-3 };
const LNET = path.join(MODELS, 'lnet-int8.fam');

const dir = path.join(OUT, 'explain');
fs.mkdirSync(dir, { recursive: true });
const images = [];
for (const f of testCrops(4)) {
  const img = await decodeJpeg(f);
  images.push({ ...img, file: writePpm(path.join(dir, `${path.basename(f, '.jpg')}.ppm`), img) });
}
for (const [w, h] of [[320, 240], [640, 480]]) {
  const rgba = await benchScene(w, h);
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; ++i) rgb.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  images.push({ width: w, height: h, rgb, file: writePpm(path.join(dir, `scene-${w}x${h}.ppm`), { width: w, height: h, rgb }) });
}
const { core, module } = await loadEngineModule('simd');

function nativeExplain(files, model, lnet) {
  need(NATIVE_CLI, 'build the native CLI (cmake --preset release) or set FACEATTR_NATIVE_CLI');
  const args = ['explain', '--json', '--attrs', ATTRS.join(','), '--model', model, '--backend', 'simd',
                ...(lnet ? ['--lnet', lnet] : ['--no-lnet']), ...files];
  const out = execFileSync(NATIVE_CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

function near(got, want, tol, what) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs native ${want} (tolerance ${tol})`);
  return Math.abs(got - want);
}

/** Every face and attribute of `engine` on `images` against the CLI's JSON; the worst differences. */
function compareAll(engine, native, identityTol) {
  const worst = { p: 0, logit: 0, value: 0, px: 0, concept: 0, terms: 0, faces: 0 };
  images.forEach((img, k) => {
    const name = path.basename(img.file);
    const r = engine.predict(img.rgb, img.width, img.height, 'rgb');
    assert.equal(r.faces.length, native[k].faces.length, `${name}: faces`);
    r.faces.forEach((_, f) => {
      ++worst.faces;
      const got = engine.explain(f, ATTRS);
      assert.deepEqual(got.map((e) => e.attribute), ATTRS);
      for (const e of got) {
        const n = native[k].faces[f].explain[e.attribute];
        const what = `${name} face ${f} ${e.attribute}`;
        worst.p = Math.max(worst.p, near(e.p, n.p, TOL.p, `${what} p`));
        assert.equal(e.p, r.faces[f].attributes[e.index].probability, `${what}: p is the predicted probability`);
        worst.logit = Math.max(worst.logit, near(e.logit, n.logit, TOL.logit, `${what} logit`));
        e.peak.forEach((v, j) => { worst.px = Math.max(worst.px, near(v, n.peak[j], TOL.px, `${what} peak`)); });
        e.map.box.forEach((v, j) => { worst.px = Math.max(worst.px, near(v, n.map.box[j], TOL.px, `${what} map box`)); });
        assert.equal(e.map.width, n.map.width, `${what} map width`);
        assert.equal(e.map.height, n.map.height, `${what} map height`);
        assert.ok(e.map.values instanceof Float32Array && e.map.values.length === e.map.width * e.map.height);
        e.map.values.forEach((v, i) => {
          worst.value = Math.max(worst.value, near(v, n.map.values[i], TOL.value + TOL.valueRel * Math.abs(n.map.values[i]), `${what} map[${i}]`));
        });
        // The average map the peak is measured against: the CLI's, with the same contrast.
        assert.equal(e.map.contrast, n.map.contrast ?? 0, `${what} contrast`);
        assert.equal(e.map.average === null, n.map.average === undefined, `${what}: an average map on both or neither`);
        if (e.map.average) {
          e.map.average.forEach((v, i) => {
            worst.value = Math.max(worst.value, near(v, n.map.average[i], TOL.value + TOL.valueRel * Math.abs(n.map.average[i]), `${what} average[${i}]`));
          });
        }
        // Concept terms: the CLI's names in its order, contributions within 1e-3.
        assert.ok(Array.isArray(n.concepts), `${what}: the CLI prints concepts`);
        assert.deepEqual(e.concepts.map((c) => c.name), n.concepts.map((c) => c.name), `${what} concept names`);
        e.concepts.forEach((c, j) => {
          assert.equal(typeof c.contribution, 'number');
          worst.concept = Math.max(worst.concept, near(c.contribution, n.concepts[j].contribution, TOL.concept, `${what} concept ${c.name}`));
          if (j > 0) assert.ok(Math.abs(c.contribution) <= Math.abs(e.concepts[j - 1].contribution), `${what}: concepts by |contribution|`);
        });
        worst.terms += e.concepts.length;
        // The SDK's identity, mean(map) + bias = logit, for fp32 (int8: the requantised logit,
        // saturated at the output's range: the SDK's own tests check it).
        if (identityTol != null) {
          const mean = e.map.values.reduce((s, v) => s + v, 0) / e.map.values.length;
          assert.ok(Math.abs(mean + e.bias - e.logit) <= identityTol, `${what}: mean + bias ${mean + e.bias} vs logit ${e.logit}`);
        }
      }
    });
  });
  return worst;
}

function report(label, w) {
  console.log(`# ${label}: ${w.faces} faces x ${ATTRS.length} attributes; max |diff| p ${w.p.toExponential(1)}, ` +
              `logit ${w.logit.toExponential(1)}, map value ${w.value.toExponential(1)}, peak/box ${w.px.toExponential(1)} px; ` +
              `${w.terms} concept terms, contribution ${w.concept.toExponential(1)}`);
}

test('explain (int8 ANet + shipped LNet) equals faceattr explain --json', { skip: !fs.existsSync(LNET) && 'no models/lnet-int8.fam' }, () => {
  const anet = path.join(MODELS, 'anet-int8.fam');
  const engine = core.Engine.create(module, { model: fs.readFileSync(anet), lnetModel: fs.readFileSync(LNET), kernels: 'simd' });
  try {
    const w = compareAll(engine, nativeExplain(images.map((i) => i.file), anet, LNET), null);
    assert.ok(w.faces >= images.length);
    assert.equal(w.terms, 5 * ATTRS.length * w.faces, 'the shipped ANet: 5 concept terms per attribute');
    report('int8 + LNet', w);
  } finally {
    engine.close();
  }
});

test('explain (fp32 ANet, whole image) equals faceattr explain --json', () => {
  const anet = path.join(MODELS, 'anet-fp32.fam');
  const engine = core.Engine.create(module, { model: fs.readFileSync(anet), kernels: 'simd' });
  try {
    const w = compareAll(engine, nativeExplain(images.map((i) => i.file), anet, null), 1e-4);
    assert.equal(w.terms, 5 * ATTRS.length * w.faces, 'the shipped ANet: 5 concept terms per attribute');
    report('fp32, no LNet', w);
  } finally {
    engine.close();
  }
});

/** The model without concept heads: its concepts.* metadata keys renamed, the CRC (docs/model-format.md) rewritten. */
function withoutConcepts(file, out) {
  const b = Buffer.from(fs.readFileSync(file));
  const key = Buffer.from('concepts.'), renamed = Buffer.from('concepxs.');
  let n = 0;
  for (let at = b.indexOf(key); at >= 0; at = b.indexOf(key, at + 1), ++n) renamed.copy(b, at);
  assert.equal(n, 3, 'concepts.names, concepts.units, concepts.weights');
  b.writeUInt32LE(zlib.crc32(b.subarray(64)), 48);
  fs.writeFileSync(out, b);
  return out;
}

test('explain of a model without concept heads: concepts [] (as the CLI)', () => {
  const anet = withoutConcepts(path.join(MODELS, 'anet-int8.fam'), path.join(dir, 'anet-int8-no-concepts.fam'));
  const engine = core.Engine.create(module, { model: fs.readFileSync(anet), kernels: 'simd' });
  try {
    const native = nativeExplain([images[0].file], anet, null);
    engine.predict(images[0].rgb, images[0].width, images[0].height, 'rgb');
    const got = engine.explain(0, ATTRS);
    for (const e of got) {
      assert.deepEqual(native[0].faces[0].explain[e.attribute].concepts, [], `CLI ${e.attribute}`);
      assert.deepEqual(e.concepts, [], `wasm ${e.attribute}`);
      assert.ok(e.map.values.length > 0, 'the map is still there');
    }
  } finally {
    engine.close();
  }
});

test('explain: attributes by name or index, all by default; bad calls throw and the session keeps working', () => {
  const engine = core.Engine.create(module, { model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')) });
  try {
    const { rgb, width, height } = images[0];
    assert.throws(() => engine.explain(0, 'Smiling'), (e) => e.code === 'FACEATTR_ERR_INVALID_ARGUMENT' && /no successful/.test(e.message));
    engine.predict(rgb, width, height, 'rgb');
    const smiling = engine.attributes.findIndex((a) => a.name === 'Smiling');
    const [byName] = engine.explain(0, 'Smiling');
    const [byIndex] = engine.explain(0, [smiling]);
    assert.deepEqual(byIndex, byName);
    const all = engine.explain(0);
    assert.equal(all.length, engine.nAttributes);
    assert.deepEqual(all[smiling], byName);
    engine.predict(rgb, width, height, 'rgb', { crop: true });
    assert.throws(() => engine.explain(0, 'Smiling'), (e) => e.code === 'FACEATTR_ERR_INVALID_ARGUMENT' && /crop/.test(e.message));
    engine.predict(rgb, width, height, 'rgb');
    const heap = module.HEAPU8.length;
    for (let k = 0; k < 200; ++k) engine.explain(0, ['Smiling', 'Male', 'Eyeglasses']);
    assert.equal(module.HEAPU8.length, heap, 'explain grows no memory');
    for (const [what, fn, code, re] of [
      ['unknown name', () => engine.explain(0, 'Sunburnt'), 'FACEATTR_ERR_INVALID_ARGUMENT', /unknown attribute/],
      ['index out of range', () => engine.explain(0, [40]), 'FACEATTR_ERR_INVALID_ARGUMENT', /unknown attribute/],
      ['face out of range', () => engine.explain(1, 'Smiling'), 'FACEATTR_ERR_INVALID_ARGUMENT', /face 1 is not in/],
      ['face not an integer', () => engine.explain('0', 'Smiling'), 'FACEATTR_ERR_INVALID_ARGUMENT', /integer/],
      ['too many', () => engine.explain(0, new Array(41).fill(0)), 'FACEATTR_ERR_INVALID_ARGUMENT', /at most 40/],
    ]) {
      assert.throws(fn, (e) => e instanceof core.FaceAttrError && e.code === code && re.test(e.message), what);
      assert.deepEqual(engine.explain(0, 'Smiling')[0], byName, `unchanged after: ${what}`);
    }
  } finally {
    engine.close();
  }
});

test('detect(frame, {responseMap: true}) returns the LNet map of the frame', { skip: !fs.existsSync(LNET) && 'no models/lnet-int8.fam' }, async () => {
  const { Runner } = await import(pathToFileURL(path.join(BUILD, 'web/src/runner.js')).href);
  const preloading = { flavour: 'simd', distUrl: undefined, threads: undefined, promise: Promise.resolve(module) };
  const opts = { model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')), lnetModel: fs.readFileSync(LNET), kernels: 'simd' };
  const runner = await Runner.create(opts, preloading);
  try {
    for (const [w, h] of [[320, 240], [640, 480]]) {
      const frame = { data: new Uint8ClampedArray(await benchScene(w, h)), width: w, height: h };
      const plain = await runner.detect(frame);
      assert.equal(plain.responseMap, undefined);
      const r = await runner.detect(frame, { responseMap: true });
      assert.deepEqual(r.faces, plain.faces);
      const m = r.responseMap;
      assert.ok(m.data instanceof Float32Array && m.data.length === m.width * m.height);
      // The map tiles the frame: its cells cover width x height (within one cell).
      assert.ok(Math.abs(m.originX + m.width * m.cellWidth - w) <= m.cellWidth, `map ${m.width}x${m.height} cells of ${m.cellWidth} px on ${w}`);
      assert.ok(Math.abs(m.originY + m.height * m.cellHeight - h) <= m.cellHeight, `map rows on ${h}`);
      assert.ok(m.data.every((v) => v >= 0 && v <= 1));
      // The hottest cell is inside the face found.
      const hot = m.data.indexOf(Math.max(...m.data));
      const cx = m.originX + (hot % m.width + 0.5) * m.cellWidth, cy = m.originY + (Math.floor(hot / m.width) + 0.5) * m.cellHeight;
      const b = r.faces[0].box;
      assert.ok(cx >= b.x && cx <= b.x + b.width && cy >= b.y && cy <= b.y + b.height, `hot cell (${cx}, ${cy}) in ${JSON.stringify(b)}`);
      console.log(`# ${w}x${h}: response map ${m.width}x${m.height}, ${m.cellWidth}x${m.cellHeight} px cells`);
      // explain through the runner: the same as the engine's.
      assert.deepEqual(runner.explain(0, ['Smiling']), runner.engine.explain(0, 'Smiling'));
    }
    const crop = await runner.detect({ data: new Uint8ClampedArray(64 * 64 * 4), width: 64, height: 64 }, { crop: true, responseMap: true });
    assert.equal(crop.responseMap, null, 'no map for a crop');
  } finally {
    runner.close();
  }
});
