// The webcam demo in headless Debian Chromium (playwright-core), fed by a fake
// webcam that plays a .y4m clip made here from a CelebA test-crop photo (the
// first by name).
// For both flavours (cross-origin isolated page: SIMD+threads; ?threads=1: SIMD)
// the page must show a face box and the 40 attribute bars, and its decided
// attributes must match the native CLI's for the photo. No request may leave
// the page's origin. Screenshots: <build>/tests/web/demo-<flavour>.png.
//
// Tolerance: the camera path turns the photo into I420 (chroma at half
// resolution, 8-bit video-range rounding) and back, so probabilities move a
// little (max |dp| 0.025 measured): every probability within MAX_DIFF of the
// native one, and the decision equal wherever the native probability is at
// least MARGIN away from its threshold.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MODELS, OUT, decodeJpeg, evenCrop, writePpm, guardOrigin, launchChromium, nativePredict, startServer, testCrops, writeY4m } from './lib.mjs';

const MARGIN = 0.05;
const MAX_DIFF = 0.05;  // measured 0.025 on this photo

test('webcam demo: box, attributes, decisions as native, same origin only', async () => {
  const photo = testCrops(1)[0];
  // The photo's pixels (at most one column / row cut to even sizes): as the clip
  // the fake webcam plays, and as the PPM the native CLI reads.
  const img = evenCrop(await decodeJpeg(photo));
  const y4m = writeY4m(path.join(OUT, 'face.y4m'), img, 10);
  const ppm = writePpm(path.join(OUT, 'face.ppm'), img);
  const lnetFile = path.join(MODELS, 'lnet-int8.fam');
  const server = await startServer();
  const { context, close } = await launchChromium([
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`,
  ]);
  try {
    const foreign = await guardOrigin(context, server.origin);
    let stateHasLnet = false;
    for (const [query, flavour] of [['', 'simd-threads'], ['?threads=1', 'simd']]) {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.origin}/demo/${query}`);
      await page.waitForFunction(() => window.faceattrDemo && (window.faceattrDemo.frames >= 3 || window.faceattrDemo.error),
                                 null, { timeout: 30000 });
      const state = await page.evaluate(() => window.faceattrDemo);
      assert.equal(state.error, null);
      assert.deepEqual(errors, []);
      assert.equal(state.backend, `wasm-${flavour}`);
      assert.equal(state.mode, 'camera');
      console.log(`# ${flavour}: create ${state.createMs.toFixed(0)} ms, first result ${state.firstResultMs.toFixed(0)} ms after navigation, ` +
                  `last frame ${state.lastResult.timings.wasmMs.toFixed(1)} ms in wasm, ${state.lastResult.timings.totalMs.toFixed(1)} ms round trip`);

      // A visible box over the video, inside the frame and covering most of it (the photo is a face crop).
      // (read in one go: the page redraws the boxes every frame)
      const { n: nBoxes, box, video } = await page.evaluate(() => {
        const rect = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; };
        const els = document.querySelectorAll('#boxes .face-box');
        return { n: els.length, box: els.length ? rect(els[0]) : null, video: rect(document.getElementById('video')) };
      });
      assert.ok(nBoxes >= 1, 'a face box is drawn');
      assert.ok(box.width > 0.4 * video.width && box.height > 0.4 * video.height, `box ${JSON.stringify(box)} in ${JSON.stringify(video)}`);
      assert.ok(box.x >= video.x - 2 && box.x + box.width <= video.x + video.width + 2, 'box within the video');

      // 40 bars; the decided ones highlighted and equal to the native CLI's decisions.
      const bars = await page.$$eval('#attrs li', (lis) => lis.map((li) => ({
        name: li.dataset.name, present: li.dataset.present === '1', highlighted: li.classList.contains('present'),
        p: Number(li.querySelector('.p').textContent) })));
      assert.equal(bars.length, 40);
      stateHasLnet = state.hasLocalizer;
      const native = nativePredict([ppm], { lnet: state.hasLocalizer ? lnetFile : undefined })[0];
      assert.ok(native.faces.length >= 1, 'native finds a face');
      const face = state.lastResult.faces.reduce((b, f) => (f.score > b.score ? f : b));
      let checked = 0;
      let worst = 0;
      for (const bar of bars) {
        const n = native.faces[0].attributes[bar.name];
        const a = face.attributes.find((x) => x.name === bar.name);
        const thr = state.thresholds[bar.name];
        assert.ok(n && a && thr > 0 && thr < 1, bar.name);
        assert.equal(bar.highlighted, a.present, `${bar.name}: highlight follows the decision`);
        const d = Math.abs(a.probability - n.p);
        worst = Math.max(worst, d);
        assert.ok(d <= MAX_DIFF, `${bar.name}: p ${a.probability} vs native ${n.p}`);
        // The threshold is where native's decision flips: p >= thr <=> present.
        if (Math.abs(n.p - thr) > MARGIN) {
          assert.equal(a.present, n.present, `${bar.name}: decided ${a.present} in the page, ${n.present} natively (p ${n.p})`);
          ++checked;
        }
      }
      const decided = bars.filter((b) => b.present).map((b) => b.name);
      console.log(`# ${flavour}: decided in page: ${decided.join(', ')}; ${checked}/40 compared beyond margin, max |dp| ${worst.toFixed(3)}`);
      assert.ok(checked >= 30, 'most attributes are clear-cut enough to compare');
      await page.screenshot({ path: path.join(OUT, `demo-${flavour}.png`) });
      await page.close();
    }
    // The image switch: the photo file itself (decoded by Chromium) instead of the camera.
    const probe = await context.newPage();
    await probe.goto(`${server.origin}/demo/?source=image`);
    await probe.waitForFunction(() => window.faceattrDemo && window.faceattrDemo.ready);
    await probe.setInputFiles('#file', photo);
    await probe.waitForFunction(() => window.faceattrDemo.frames >= 1 || window.faceattrDemo.error);
    const still = await probe.evaluate(() => ({
      mode: window.faceattrDemo.mode, result: window.faceattrDemo.lastResult, thresholds: window.faceattrDemo.thresholds,
      boxes: document.querySelectorAll('#boxes .face-box').length, status: document.getElementById('status').textContent }));
    assert.equal(still.mode, 'image');
    assert.ok(still.boxes >= 1 && still.result.faces.length >= 1, still.status);
    const nativeJpeg = nativePredict([photo], { lnet: stateHasLnet ? lnetFile : undefined })[0];
    for (const a of still.result.faces[0].attributes) {
      const n = nativeJpeg.faces[0].attributes[a.name];
      assert.ok(Math.abs(a.probability - n.p) <= MAX_DIFF, `image ${a.name}: ${a.probability} vs native ${n.p}`);
      if (Math.abs(n.p - still.thresholds[a.name]) > MARGIN) assert.equal(a.present, n.present, `image ${a.name}`);
    }
    await probe.screenshot({ path: path.join(OUT, 'demo-image.png') });
    // The guard sees requests to other origins (and aborts them).
    await probe.evaluate(() => fetch('http://example.invalid/probe').catch(() => null));
    assert.deepEqual(foreign, ['http://example.invalid/probe'], 'only the probe left the origin');
  } finally {
    await close();
    await server.close();
  }
});

// The package in the page (the demo's origin, no camera): both flavours give
// the native numbers on ImageData (the pipeline is the same code: tolerance as
// in node.test.mjs, 1e-5), VideoFrame / ImageBitmap / <img> inputs agree with
// ImageData, bad input rejects and the instance keeps working, and a model URL
// on another origin is refused without any request.
test('package API in Chromium: flavours equal native, frame types, errors, origin', async () => {
  const photo = testCrops(1)[0];
  const img = await decodeJpeg(photo);
  const ppm = writePpm(path.join(OUT, 'api.ppm'), img);
  const native = nativePredict([ppm])[0];
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; ++i) rgba.set([...img.rgb.subarray(3 * i, 3 * i + 3), 255], 4 * i);
  const server = await startServer();
  const { context, close } = await launchChromium();
  try {
    const foreign = await guardOrigin(context, server.origin);
    const page = await context.newPage();
    await page.goto(`${server.origin}/demo/?source=image`);
    await page.waitForFunction(() => window.faceattrDemo && window.faceattrDemo.ready);
    const out = await page.evaluate(async ({ pixels, width, height }) => {
      const { FaceAttr } = await import('/web/src/faceattr.js');
      const data = new Uint8ClampedArray(pixels);
      const probs = (r) => r.faces[0].attributes.map((a) => a.probability);
      const res = {};
      for (const [name, opts] of [['simd', { threads: 1 }], ['simd-threads', { threads: 2 }], ['inline', { threads: 1, worker: false }]]) {
        const fa = await FaceAttr.create({ model: '/models/anet-int8.fam', ...opts });
        const r = await fa.detect(new ImageData(data, width, height));
        res[name] = { backend: r.backend, inWorker: fa.inWorker, faces: r.faces, attributes: fa.attributes };
        if (name === 'simd') {
          const canvas = new OffscreenCanvas(width, height);
          canvas.getContext('2d').putImageData(new ImageData(data, width, height), 0, 0);
          const bitmap = await createImageBitmap(canvas);
          const frame = new VideoFrame(bitmap, { timestamp: 0 });
          res.bitmap = probs(await fa.detect(bitmap));
          res.videoFrame = probs(await fa.detect(frame));
          res.frameStillOpen = frame.format !== null;  // the caller's frame is not consumed
          frame.close();
          res.errors = [];
          for (const bad of [null, 42, { width: 3 }, { data: new Uint8ClampedArray(12), width: 2, height: 2 },
                             { data: new Uint8ClampedArray(16), width: 0, height: 4 }]) {
            try {
              await fa.detect(bad);
              res.errors.push('no error');
            } catch (e) {
              res.errors.push(`${e.name}:${e.code}:${e.message}`);
            }
          }
          res.after = probs(await fa.detect(new ImageData(data, width, height)));
          try {
            await FaceAttr.create({ model: 'http://example.invalid/anet.fam' });
            res.crossOrigin = 'no error';
          } catch (e) {
            res.crossOrigin = `${e.code}:${e.message}`;
          }
        }
        await fa.close();
      }
      return res;
    }, { pixels: Array.from(rgba), width: img.width, height: img.height });

    const thresholds = out.simd.attributes.map((a) => a.threshold);
    for (const name of ['simd', 'simd-threads', 'inline']) {
      const r = out[name];
      assert.equal(r.backend, name === 'simd-threads' ? 'wasm-simd-threads' : 'wasm-simd', name);
      assert.equal(r.inWorker, name !== 'inline');
      assert.equal(r.faces.length, 1);
      r.faces[0].attributes.forEach((a, i) => {
        const n = native.faces[0].attributes[a.name];
        assert.ok(Math.abs(a.probability - n.p) <= 1e-5, `${name} ${a.name}: ${a.probability} vs native ${n.p}`);
        if (Math.abs(n.p - thresholds[i]) > 1e-5) assert.equal(a.present, n.present, `${name} ${a.name}`);
      });
    }
    const base = out.simd.faces[0].attributes.map((a) => a.probability);
    const maxDiff = (a) => Math.max(...a.map((v, i) => Math.abs(v - base[i])));
    // Canvas round trips of opaque 8-bit RGBA are exact in Chromium; allow the CLI's rounding only.
    assert.ok(maxDiff(out.bitmap) <= 1e-5, `ImageBitmap vs ImageData: ${maxDiff(out.bitmap)}`);
    assert.ok(maxDiff(out.videoFrame) <= 1e-5, `VideoFrame vs ImageData: ${maxDiff(out.videoFrame)}`);
    assert.equal(out.frameStillOpen, true);
    assert.equal(out.errors.length, 5);
    for (const e of out.errors) assert.match(e, /^FaceAttrError:FACEATTR_ERR_INVALID_ARGUMENT:./);
    console.log(`# errors: ${out.errors.join(' | ')}`);
    assert.deepEqual(out.after, base, 'the instance keeps working after errors');
    assert.match(out.crossOrigin, /^FACEATTR_ERR_INVALID_ARGUMENT:.*not on this page's origin/);
    assert.deepEqual(foreign, [], 'no request left the origin');
  } finally {
    await close();
    await server.close();
  }
});
