// The WebGPU backend (web/src/webgpu/) in headless Debian Chromium with
// --enable-unsafe-webgpu: the adapter is SwiftShader, a CPU emulation of a GPU
// (no GPU here), which runs the same WGSL as a real GPU would.
//
//  1. Per op: every op of the model format in every kernel variant, f32 and int8,
//     on seeded random data with batches, against the SDK's reference CPU kernel
//     of the same node (tests/web/webgpu_page.mjs, tests/web/webgpu_ref.cpp).
//     f32: |gpu - cpu| <= 1e-4 * max(1, |cpu|) (only the summation order differs).
//     int8: the GPU runs the CPU's integer arithmetic in f32 (exact integer sums
//     below 2^24; the same multipliers and round-half-away requantisation), so the
//     quantised outputs must be equal; at most 1% of them may be one step off (an
//     f32 value within an ulp of a rounding tie, GPU division/exp precision).
//  2. Whole models, through the public API (FaceAttr, backend 'webgpu' in its
//     worker) against the same API with backend 'wasm' and the reference kernels,
//     on test-crop photos ({crop: true}) and on scenes with LNet: fp32 and int8
//     ANet and LNet. Tolerances on probabilities (and the response map): fp32
//     1e-4; int8 TOL_INT8, one step of the last int8 tensor through the sigmoid
//     (slope <= 1/4): the shipped ANet's logit step is 0.110 (0.027 in
//     probability), the localiser's 0.027 (0.007), and a tie rounded one step
//     differently on the GPU moves one output by that much; decisions equal
//     wherever the CPU probability is at least that far from its threshold; the
//     same faces (count, boxes within 1 px, scores within the map tolerance).
//     Several faces of a frame go through ANet as one batch (asserted: a frame
//     with two faces, from the native fixtures' hand-weighted tiny LNet), and
//     with views: 2 both views of every face do.
//  3. Tracking: the GPU's faces go through the session's tracker (updateTracks):
//     one id over a moving face, no local search, ids, smoothed boxes and
//     averaged attributes as the wasm backend's tracker with a full pass every
//     frame (boxes within 1 px, probabilities within TOL_INT8).
//  4. Backend choice and fallback: 'auto' on a software adapter picks wasm and
//     says why; no adapter -> 'webgpu' rejects with FACEATTR_ERR_UNSUPPORTED and
//     'auto' runs wasm; a lost device (GPUDevice.destroy() through the test hook)
//     -> the same session goes on in wasm with the same results.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BUILD, MODELS, NATIVE_FIXTURES, OUT, REPO, benchScene, decodeJpeg, launchChromium, need, startServer, testCrops } from './lib.mjs';

const TOL_F32 = 1e-4;
const TOL_INT8 = 0.03;

const server = await startServer();
const { context, close } = await launchChromium(['--enable-unsafe-webgpu']);
const files = new Map();  // /webgpu-test/<name> -> [bytes, type]
files.set('page.html', [Buffer.from('<!doctype html><meta charset="utf-8"><title>webgpu test</title><body></body>'), 'text/html']);
files.set('webgpu_page.mjs', [fs.readFileSync(path.join(REPO, 'tests/web/webgpu_page.mjs')), 'text/javascript']);
for (const f of ['faceattr-webgpu-ref.js', 'faceattr-webgpu-ref.wasm']) {
  files.set(f, [fs.readFileSync(need(path.join(OUT, f), 'build the wasm preset (faceattr-webgpu-ref)')),
                f.endsWith('.js') ? 'text/javascript' : 'application/wasm']);
}
await context.route(`${server.origin}/webgpu-test/**`, (route) => {
  const name = new URL(route.request().url()).pathname.replace('/webgpu-test/', '');
  const f = files.get(name);
  if (!f) return route.fulfill({ status: 404, body: 'not found' });
  return route.fulfill({ status: 200, body: f[0], headers: {
    'Content-Type': f[1], 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin' } });
});
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
await page.goto(`${server.origin}/webgpu-test/page.html`);

test.after(async () => {
  await close();
  await server.close();
});

test('per op: WGSL kernels equal the SDK reference kernels (f32 1e-4 relative; int8 equal)', async () => {
  const { results, adapter, error } = await page.evaluate(async () => (await import('/webgpu-test/webgpu_page.mjs')).opParity(7));
  console.log(`# adapter: ${JSON.stringify(adapter)}`);
  assert.equal(error, null);
  assert.ok(results.length >= 40);
  for (const r of results) {
    assert.equal(r.gpuLength, r.n, r.name);
    if (r.dtype === 'f32') {
      assert.ok(r.maxRel <= 1e-4, `${r.name}: max |d| ${r.maxAbs} (relative ${r.maxRel})`);
    } else {
      assert.ok(r.distinct >= Math.min(8, r.n / 4), `${r.name}: only ${r.distinct} distinct outputs`);
      assert.ok(r.maxSteps <= 1 && r.mismatched <= 0.01 * r.n, `${r.name}: ${r.mismatched}/${r.n} off, max ${r.maxSteps} steps`);
    }
  }
  const off = results.filter((r) => r.dtype === 'i8' && r.mismatched > 0).map((r) => `${r.name} ${r.mismatched}/${r.n}`);
  const f32 = Math.max(...results.filter((r) => r.dtype === 'f32').map((r) => r.maxRel));
  console.log(`# ${results.length} op cases; f32 max relative difference ${f32.toExponential(2)}; int8 outputs off by one step: ${off.join(', ') || 'none'}`);
});

// The frames as RGBA, served to the page (no large JSON through evaluate).
async function frames() {
  const crops = await Promise.all(testCrops(4).map(decodeJpeg));
  const rgba = ({ width, height, rgb }) => {
    const out = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; ++i) out.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
    return { width, height, data: out };
  };
  // Scenes: 320x240 noise with crops pasted at several sizes (as node.test.mjs).
  const W = 320, H = 240;
  const scenes = [[0.6, [[100, 50]]], [0.45, [[20, 60], [190, 70]]], [1.0, [[60, 10]]]].map(([s, at]) => {
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < rgb.length; ++i) rgb[i] = 90 + ((Math.imul(i, 2654435761) >>> 27) & 31);
    at.forEach(([x0, y0], k) => {
      const src = crops[k];
      const w = Math.min(W - x0, Math.round(src.width * s)), h = Math.min(H - y0, Math.round(src.height * s));
      for (let y = 0; y < h; ++y) {
        for (let x = 0; x < w; ++x) {
          const si = 3 * (Math.min(src.height - 1, Math.floor(y / s)) * src.width + Math.min(src.width - 1, Math.floor(x / s)));
          rgb.set(src.rgb.subarray(si, si + 3), 3 * ((y0 + y) * W + x0 + x));
        }
      }
    });
    return { width: W, height: H, rgb };
  });
  // Two red squares: two faces for the native fixtures' tiny LNet (response ~ R - G).
  const red = new Uint8Array(W * H * 3).fill(128);
  for (const [x0, y0, s] of [[40, 60, 60], [200, 80, 80]]) {
    for (let y = y0; y < y0 + s; ++y) for (let x = x0; x < x0 + s; ++x) red.set([230, 30, 30], 3 * (y * W + x));
  }
  // A frame-filling red square and a small one (large faces: the coarse pass).
  const big = new Uint8Array(W * H * 3).fill(128);
  for (const [x0, y0, s] of [[20, 10, 200], [250, 170, 48]]) {
    for (let y = y0; y < y0 + s && y < H; ++y) for (let x = x0; x < x0 + s; ++x) big.set([230, 30, 30], 3 * (y * W + x));
  }
  const all = { crops: crops.map(rgba), scenes: scenes.map(rgba), red: [rgba({ width: W, height: H, rgb: red })],
                big: [rgba({ width: W, height: H, rgb: big })] };
  const list = {};
  for (const [k, v] of Object.entries(all)) {
    list[k] = v.map((f, i) => {
      const name = `${k}-${i}.rgba`;
      files.set(name, [Buffer.from(f.data.buffer), 'application/octet-stream']);
      return { url: `/webgpu-test/${name}`, width: f.width, height: f.height };
    });
  }
  return list;
}
const FRAMES = await frames();

// In the page: both backends through FaceAttr on the frames; per frame both results.
async function bothBackends(opts, frameList, crop) {
  return page.evaluate(async ({ opts, frameList, crop }) => {
    const { FaceAttr } = await import('/web/src/faceattr.js');
    const gpu = await FaceAttr.create({ ...opts, backend: 'webgpu' });
    const cpu = await FaceAttr.create({ ...opts, backend: 'wasm', kernels: 'reference' });
    const out = { gpuBackend: gpu.backend, cpuBackend: cpu.backend, thresholds: cpu.attributes.map((a) => a.threshold), frames: [] };
    for (const f of frameList) {
      const data = new Uint8ClampedArray(await (await fetch(f.url)).arrayBuffer());
      const img = new ImageData(data, f.width, f.height);
      const g = await gpu.detect(img, { crop });
      const c = await cpu.detect(img, { crop });
      const strip = (r) => ({ backend: r.backend, timings: r.timings, faces: r.faces.map((x) => ({ box: x.box, score: x.score, p: x.attributes.map((a) => a.probability), d: x.attributes.map((a) => a.present) })) });
      out.frames.push({ gpu: strip(g), cpu: strip(c) });
    }
    await gpu.close();
    await cpu.close();
    return out;
  }, { opts, frameList, crop });
}

function compareRuns(label, out, tol) {
  assert.equal(out.gpuBackend, 'webgpu', label);
  assert.match(out.cpuBackend, /^wasm-/);
  let maxP = 0, maxScore = 0, maxBox = 0, faces = 0;
  out.frames.forEach(({ gpu, cpu }, k) => {
    assert.equal(gpu.backend, 'webgpu', `${label} frame ${k}`);
    assert.equal(gpu.faces.length, cpu.faces.length, `${label} frame ${k}: face count`);
    cpu.faces.forEach((cf, f) => {
      const gf = gpu.faces[f];
      for (const key of ['x', 'y', 'width', 'height']) maxBox = Math.max(maxBox, Math.abs(gf.box[key] - cf.box[key]));
      maxScore = Math.max(maxScore, Math.abs(gf.score - cf.score));
      cf.p.forEach((p, a) => {
        const d = Math.abs(gf.p[a] - p);
        maxP = Math.max(maxP, d);
        assert.ok(d <= tol, `${label} frame ${k} face ${f} attribute ${a}: gpu ${gf.p[a]} cpu ${p}`);
        if (Math.abs(p - out.thresholds[a]) > tol) assert.equal(gf.d[a], cf.d[a], `${label} frame ${k} face ${f} attribute ${a} decision`);
      });
      faces++;
    });
  });
  assert.ok(maxBox <= 1, `${label}: boxes differ by ${maxBox} px`);
  assert.ok(maxScore <= tol, `${label}: scores differ by ${maxScore}`);
  console.log(`# ${label}: ${out.frames.length} frames, ${faces} faces; max |dp| ${maxP.toExponential(2)}, |dscore| ${maxScore.toExponential(2)}, |dbox| ${maxBox.toFixed(3)} px (tolerance ${tol})`);
  return faces;
}

for (const [anet, tol] of [['anet-fp32.fam', TOL_F32], ['anet-int8.fam', TOL_INT8]]) {
  test(`whole ANet ${anet}: WebGPU = wasm reference on face crops`, async () => {
    const out = await bothBackends({ model: `/models/${anet}`, lnetModel: null }, FRAMES.crops, true);
    compareRuns(anet, out, tol);
  });
}

for (const [anet, lnet, tol] of [['anet-fp32.fam', 'lnet-fp32.fam', TOL_F32], ['anet-int8.fam', 'lnet-int8.fam', TOL_INT8]]) {
  test(`whole pipeline ${lnet} + ${anet}: WebGPU = wasm reference on scenes and crops`, async () => {
    const out = await bothBackends({ model: `/models/${anet}`, lnetModel: `/models/${lnet}` },
                                   [...FRAMES.scenes, FRAMES.crops[0]], false);
    const faces = compareRuns(`${lnet} + ${anet}`, out, tol);
    assert.ok(faces >= 1, 'the shipped LNet finds faces in these frames');
  });
}

for (const [lnet, tol] of [['lnet-fp32.fam', TOL_F32], ['lnet-int8.fam', TOL_INT8]]) {
  test(`whole LNet ${lnet}: the response map on the GPU = the wasm reference's`, async () => {
    const r = await page.evaluate(async ({ lnet, frameList }) => {
      const core = await import('/web/src/core.js');
      const { GpuEngine } = await import('/web/src/webgpu/engine.js');
      const M = await core.loadModule('simd');
      const get = async (n) => new Uint8Array(await (await fetch(`/models/${n}`)).arrayBuffer());
      const opts = { model: await get('anet-int8.fam'), lnetModel: await get(lnet) };
      const cpu = core.Engine.create(M, { ...opts, kernels: 'reference' });
      const gpu = await GpuEngine.create(core.Engine.create(M, opts));
      const out = { backend: gpu.backend, maxDiff: 0, cells: 0, geometry: [],
                    nodes: gpu.lnet.graph.nodes.length, dispatches: gpu.lnet.dispatches };
      for (const f of frameList) {
        const px = new Uint8Array(await (await fetch(f.url)).arrayBuffer());
        cpu.predict(px, f.width, f.height, 'rgba');
        await gpu.predict(px, f.width, f.height, 'rgba');
        const a = cpu.responseMap(), b = gpu.responseMap();
        for (let i = 0; i < a.data.length; ++i) out.maxDiff = Math.max(out.maxDiff, Math.abs(a.data[i] - b.data[i]));
        out.cells += a.data.length;
        out.geometry.push([a.width - b.width, a.height - b.height, a.cellWidth - b.cellWidth, a.cellHeight - b.cellHeight, b.data.length - a.data.length]);
      }
      gpu.close();
      cpu.close();
      return out;
    }, { lnet, frameList: [...FRAMES.scenes, ...FRAMES.crops] });
    assert.equal(r.backend, 'webgpu');
    for (const g of r.geometry) assert.deepEqual(g, [0, 0, 0, 0, 0]);
    assert.ok(r.maxDiff <= tol, `${lnet}: max |d| ${r.maxDiff}`);
    // The map's sigmoid (int8: dequantize + sigmoid) runs in the last conv's epilogue.
    assert.equal(r.dispatches, r.nodes - (lnet.includes('int8') ? 2 : 1));
    console.log(`# ${lnet}: ${r.geometry.length} frames, ${r.cells} map cells; max |d| ${r.maxDiff.toExponential(2)} (tolerance ${tol})`);
  });
}

// The native fixtures' hand-weighted tiny LNets (response ~ R - G), written once.
let fixtureDir = null;
function tinyLnet(name) {
  if (!fixtureDir) {
    fixtureDir = path.join(OUT, 'webgpu_fixtures');
    execFileSync(need(NATIVE_FIXTURES, 'build the native release preset (faceattr_native_fixtures)'), [fixtureDir]);
  }
  return Array.from(fs.readFileSync(need(path.join(fixtureDir, 'lnet', name), `faceattr_native_fixtures writes lnet/${name}`)));
}

// Both backends through FaceAttr (in-page) with ANet int8 and LNet bytes, on one frame.
function tinyRun(tinyBytes, frame) {
  return page.evaluate(async ({ tinyBytes, frame }) => {
    const { FaceAttr } = await import('/web/src/faceattr.js');
    const lnetModel = new Uint8Array(tinyBytes);
    const gpu = await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel, backend: 'webgpu', worker: false });
    const cpu = await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel, backend: 'wasm', kernels: 'reference' });
    const data = new Uint8ClampedArray(await (await fetch(frame.url)).arrayBuffer());
    const img = new ImageData(data, frame.width, frame.height);
    const g = await gpu.detect(img);
    const c = await cpu.detect(img);
    const strip = (r) => ({ backend: r.backend, timings: r.timings, faces: r.faces.map((x) => ({ box: x.box, score: x.score, p: x.attributes.map((a) => a.probability), d: x.attributes.map((a) => a.present) })) });
    const res = { gpuBackend: gpu.backend, cpuBackend: cpu.backend, thresholds: cpu.attributes.map((a) => a.threshold), frames: [{ gpu: strip(g), cpu: strip(c) }] };
    await gpu.close();
    await cpu.close();
    return res;
  }, { tinyBytes, frame });
}

test('views: 2 on WebGPU: both views of every face in one ANet batch, combined as wasm combines them', async () => {
  const out = await bothBackends({ model: '/models/anet-int8.fam', lnetModel: '/models/lnet-int8.fam', views: 2 },
                                 [...FRAMES.scenes, FRAMES.crops[0]], false);
  const faces = compareRuns('lnet-int8 + anet-int8, views 2', out, TOL_INT8);
  assert.ok(faces >= 1, 'the shipped LNet finds faces in these frames');
  for (const { gpu } of out.frames) if (gpu.faces.length) assert.equal(gpu.timings.gpuSubmits, 2, 'one command buffer for LNet, one for every view of every face');
});

test('several faces of a frame: one ANet batch on the GPU, equal to wasm per face', async () => {
  const out = await tinyRun(tinyLnet('lnet-tiny.fam'), FRAMES.red[0]);
  assert.equal(out.frames[0].cpu.faces.length, 2, 'the tiny LNet finds both squares');
  assert.equal(out.frames[0].gpu.timings.gpuSubmits, 2, 'one command buffer for LNet, one for both faces through ANet');
  compareRuns('tiny LNet + anet-int8, 2 faces in one batch', out, TOL_INT8);
});

test('LNet with the coarse pass (lnet.half_threshold): fine + half-size run in one LNet batch, faces equal to wasm', async () => {
  const out = await tinyRun(tinyLnet('lnet-tiny-coarse.fam'), FRAMES.big[0]);
  assert.ok(out.frames[0].cpu.faces.length >= 1, 'the coarse tiny LNet finds the large square');
  // The frame tells the passes apart: without the coarse pass the faces differ.
  const fineOnly = await tinyRun(tinyLnet('lnet-tiny.fam'), FRAMES.big[0]);
  assert.notDeepEqual(fineOnly.frames[0].cpu.faces.map((f) => f.box), out.frames[0].cpu.faces.map((f) => f.box));
  assert.equal(out.frames[0].gpu.timings.gpuSubmits, 2, 'both LNet passes in one command buffer, then ANet');
  compareRuns('tiny coarse-pass LNet + anet-int8', out, TOL_INT8);
});

test('dense box-map LNet (5 channels per cell): the GPU reads back h*w*5, wasm decodes; faces equal to wasm', async () => {
  const out = await tinyRun(tinyLnet('lnet-tiny-dense.fam'), FRAMES.red[0]);
  assert.ok(out.frames[0].cpu.faces.length >= 2, 'the dense tiny LNet finds both squares');
  assert.equal(out.frames[0].gpu.timings.gpuSubmits, 2, 'one command buffer for LNet, one for the faces through ANet');
  compareRuns('tiny dense LNet + anet-int8', out, TOL_INT8);
});

test('backend choice: auto on a software adapter -> wasm; no adapter -> webgpu refused, auto wasm; device loss -> wasm, same session', async () => {
  const r = await page.evaluate(async (frame) => {
    const { FaceAttr } = await import('/web/src/faceattr.js');
    const data = new Uint8ClampedArray(await (await fetch(frame.url)).arrayBuffer());
    const img = new ImageData(data, frame.width, frame.height);
    const out = {};
    const probs = (res) => res.faces.map((f) => f.attributes.map((a) => a.probability));
    // auto: SwiftShader is a fallback (software) adapter.
    const auto = await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel: null });
    out.auto = { backend: auto.backend, reason: auto.backendReason };
    await auto.close();
    // Device loss, worker mode and in-page mode.
    for (const worker of [true, false]) {
      const fa = await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel: '/models/lnet-int8.fam', backend: 'webgpu', worker });
      const before = await fa.detect(img);
      const adapter = fa.gpuAdapter;
      // Bad input is the caller's error, not the GPU's: rejected, and the GPU stays.
      let bad = null;
      try {
        await fa.detect({ data: new Uint8ClampedArray(10), width: 5, height: 5 });
      } catch (e) {
        bad = { code: e.code, backend: fa.backend };
      }
      // explain needs ANet's feature maps, which stay on the GPU: unsupported until the fall back.
      const explainGpu = await fa.explain(0, 'Smiling').then(() => 'resolved', (e) => e.code);
      await fa.loseGpuDevice();
      const after = await fa.detect(img);
      const again = await fa.detect(img);
      const explainWasm = after.faces.length ? (await fa.explain(0, 'Smiling'))[0] : null;
      out[worker ? 'lossWorker' : 'lossPage'] = {
        before: before.backend, adapter, bad, after: after.backend, again: again.backend, backend: fa.backend, reason: fa.backendReason,
        fallbackReason: after.fallbackReason, pBefore: probs(before), pAfter: probs(after), pAgain: probs(again),
        explainGpu, explainWasm: explainWasm && { attribute: explainWasm.attribute, p: explainWasm.p, cells: explainWasm.map.values.length },
      };
      await fa.close();
    }
    // No adapter (in-page, where navigator.gpu can be replaced): as if the GPU disappeared.
    const original = navigator.gpu.requestAdapter;
    navigator.gpu.requestAdapter = async () => null;
    try {
      try {
        await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel: null, backend: 'webgpu', worker: false });
        out.none = { code: 'no error' };
      } catch (e) {
        out.none = { code: e.code, message: e.message, name: e.name };
      }
      const fa = await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel: null, worker: false });
      out.noneAuto = { backend: fa.backend, reason: fa.backendReason, faces: (await fa.detect(img)).faces.length };
      await fa.close();
    } finally {
      navigator.gpu.requestAdapter = original;
    }
    return out;
  }, FRAMES.scenes[0]);
  console.log(`# auto: ${r.auto.backend} (${r.auto.reason}); after device loss: ${r.lossWorker.after} (${r.lossWorker.reason})`);
  assert.match(r.auto.backend, /^wasm-/);
  assert.match(r.auto.reason, /software/);
  for (const k of ['lossWorker', 'lossPage']) {
    const l = r[k];
    assert.equal(l.before, 'webgpu', k);
    assert.deepEqual(l.bad, { code: 'FACEATTR_ERR_INVALID_ARGUMENT', backend: 'webgpu' }, k);
    assert.ok(l.adapter && l.adapter.fallback === true, `${k}: adapter ${JSON.stringify(l.adapter)}`);
    assert.match(l.after, /^wasm-/, k);
    assert.equal(l.again, l.after, k);
    assert.equal(l.backend, l.after, k);
    assert.match(l.reason, /lost|destroyed|WebGPU/i, k);
    assert.equal(l.fallbackReason, l.reason, k);
    assert.equal(l.pAfter.length, l.pBefore.length, `${k}: same faces after the fallback`);
    l.pBefore.forEach((ps, f) => ps.forEach((p, a) => assert.ok(Math.abs(p - l.pAfter[f][a]) <= TOL_INT8, `${k} face ${f} attr ${a}`)));
    assert.deepEqual(l.pAgain, l.pAfter, `${k}: the wasm session keeps going`);
    assert.equal(l.explainGpu, 'FACEATTR_ERR_UNSUPPORTED', `${k}: explain on WebGPU`);
    assert.ok(l.explainWasm && l.explainWasm.attribute === 'Smiling' && l.explainWasm.cells > 0, `${k}: explain after the fall back`);
    const smiling = 31;
    assert.equal(l.explainWasm.p, l.pAgain[0][smiling], `${k}: explained p is the detected one`);
  }
  assert.equal(r.none.code, 'FACEATTR_ERR_UNSUPPORTED', JSON.stringify(r.none));
  assert.equal(r.none.name, 'FaceAttrError');
  assert.match(r.noneAuto.backend, /^wasm-/);
  assert.match(r.noneAuto.reason, /no WebGPU adapter/);
  assert.equal(r.noneAuto.faces, 1);
  assert.deepEqual(pageErrors, []);
});

test('demo: shows the backend and switches WebGPU <-> wasm on the page', async () => {
  const [photoA, photoB] = testCrops(2);
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  try {
    await p.goto(`${server.origin}/demo/?source=image&backend=webgpu`);
    await p.waitForFunction(() => window.faceattrDemo.ready || window.faceattrDemo.error, null, { timeout: 30000 });
    assert.equal(await p.evaluate(() => window.faceattrDemo.error), null);
    assert.equal(await p.evaluate(() => window.faceattrDemo.backend), 'webgpu');
    assert.match(await p.textContent('#backend'), /WebGPU \(google swiftshader, software\)/);
    assert.equal(await p.inputValue('#backend-select'), 'webgpu');
    await p.setInputFiles('#file', photoA);
    await p.waitForFunction(() => window.faceattrDemo.frames >= 1, null, { timeout: 30000 });
    assert.equal(await p.evaluate(() => window.faceattrDemo.lastResult.backend), 'webgpu');
    assert.equal(await p.$$eval('#attrs li', (l) => l.length), 40);
    await p.selectOption('#backend-select', 'wasm');
    await p.waitForFunction(() => /^wasm-/.test(window.faceattrDemo.backend), null, { timeout: 30000 });
    await p.setInputFiles('#file', photoB);
    await p.waitForFunction(() => window.faceattrDemo.frames >= 2, null, { timeout: 30000 });
    assert.match(await p.evaluate(() => window.faceattrDemo.lastResult.backend), /^wasm-/);
    assert.match(p.url(), /backend=wasm/);
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
  }
});

test('tracking on WebGPU: the GPU\'s faces through the tracker; ids and smoothed results as the wasm tracker\'s', async () => {
  files.set('bench-scene.rgba', [Buffer.from((await benchScene(320, 240)).buffer), 'application/octet-stream']);
  const r = await page.evaluate(async () => {
    const { FaceAttr } = await import('/web/src/faceattr.js');
    const W = 320, H = 240;
    const base = new ImageData(new Uint8ClampedArray(await (await fetch('/webgpu-test/bench-scene.rgba')).arrayBuffer()), W, H);
    const ctx = new OffscreenCanvas(W, H).getContext('2d', { willReadFrequently: true });
    // Every frame a full pass on wasm too: the GPU path has no local search.
    const opts = { model: '/models/anet-int8.fam', lnetModel: '/models/lnet-int8.fam', track: true, tracker: { detectInterval: 1 } };
    const gpu = await FaceAttr.create({ ...opts, backend: 'webgpu' });
    const cpu = await FaceAttr.create({ ...opts, backend: 'wasm', kernels: 'reference' });
    const strip = (x) => ({ backend: x.backend, tracking: x.tracking, faces: x.faces.map((f) => ({
      track: f.track, age: f.age, box: f.box, rawBox: f.rawBox, p: f.attributes.map((a) => a.probability), d: f.attributes.map((a) => a.present) })) });
    const out = { thresholds: cpu.attributes.map((a) => a.threshold), hysteresis: cpu.trackerOptions.hysteresis, frames: [] };
    const moves = [[0, 0], [3, 1], [-2, 2], [4, -1], [-3, -2], [1, 3]];
    for (let k = 0; k < moves.length; ++k) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, W, H);
      ctx.putImageData(base, moves[k][0], moves[k][1]);
      const img = ctx.getImageData(0, 0, W, H);
      const timestamp = k * 1000 / 30;
      out.frames.push({ gpu: strip(await gpu.detect(img, { timestamp })), cpu: strip(await cpu.detect(img, { timestamp })) });
    }
    await gpu.resetTracks();
    out.afterReset = strip(await gpu.detect(base, { timestamp: 0 }));
    await gpu.close();
    await cpu.close();
    return out;
  });
  let maxP = 0, maxBox = 0;
  r.frames.forEach(({ gpu, cpu }, k) => {
    assert.equal(gpu.backend, 'webgpu', `frame ${k}`);
    assert.deepEqual(gpu.faces.map((f) => [f.track, f.age]), [[1, k]], `frame ${k}: GPU track`);
    assert.deepEqual(cpu.faces.map((f) => [f.track, f.age]), [[1, k]], `frame ${k}: wasm track`);
    assert.equal(gpu.tracking.frames, k + 1, `frame ${k}`);
    assert.equal(gpu.tracking.localPasses, 0, `frame ${k}: no local search on the GPU path`);
    assert.equal(gpu.tracking.tracksStarted, 1, `frame ${k}`);
    const [g, c] = [gpu.faces[0], cpu.faces[0]];
    for (const b of ['box', 'rawBox']) for (const key of ['x', 'y', 'width', 'height']) maxBox = Math.max(maxBox, Math.abs(g[b][key] - c[b][key]));
    c.p.forEach((p, a) => {
      maxP = Math.max(maxP, Math.abs(g.p[a] - p));
      assert.ok(Math.abs(g.p[a] - p) <= TOL_INT8, `frame ${k} attribute ${a}: gpu ${g.p[a]} wasm ${p}`);
      if (Math.abs(p - r.thresholds[a]) > 2 * r.hysteresis + TOL_INT8) assert.equal(g.d[a], c.d[a], `frame ${k} attribute ${a} decision`);
    });
  });
  assert.ok(maxBox <= 1, `smoothed / raw boxes differ by ${maxBox} px`);
  assert.deepEqual(r.afterReset.faces.map((f) => [f.track, f.age]), [[1, 0]]);
  assert.equal(r.afterReset.tracking.frames, 1);
  console.log(`# tracking on WebGPU: ${r.frames.length} frames, one track; max |dp| ${maxP.toExponential(2)}, |dbox| ${maxBox.toFixed(3)} px vs wasm`);
  assert.deepEqual(pageErrors, []);
});
