// Browser soak: the webcam demo (demo/, served by demo/serve.mjs with cross-origin
// isolation) in headless Debian Chromium, as a user runs it: FaceAttr in its Web
// Worker (the default), threads flavour, ANet + the LNet localiser, fed by a fake
// webcam playing a 640x480 clip of drawn faces (frames.mjs: eight frames of one
// to three faces, looped), with the localiser-map box ticked and one attribute's
// map shown, so every frame runs detect (VideoFrame -> worker), the response-map
// copy, explain, and the page's overlay and DOM updates.
//
//   node tests/soak/soak_browser.mjs [--frames 2000] [--warmup 100] [--every 100]
//        [--page-bound-kb 1024] [--worker-bound-kb 1024]
//
// Memory: the page's JS heap (Runtime.getHeapUsage after
// HeapProfiler.collectGarbage) and DOM node count (Performance.getMetrics) over
// the Chrome DevTools Protocol; the faceattr worker's JS heap after GC through a
// CDP session attached to it (Target.setAutoAttach); its wasm memory from the
// detect results (wasmMemoryBytes, the module's memory size, which the worker
// reports with every frame). Baseline after --warmup frames, then every --every
// frames and at the end.
// Fails (exit 1) when the worker's wasm memory grows at all after warm-up, a JS
// heap after GC rises above its baseline by more than its bound (default 1024
// KB each), the document gains more than 50 elements (the page redraws up to
// three face boxes per frame) or Chromium's DOM node count (which includes
// detached nodes not yet collected: 633..744 measured) more than 1000, or the
// page reports an error; 2 on a set-up error.
import fs from 'node:fs';
import path from 'node:path';
import { OUT, launchChromium, startServer, writeY4m } from '../web/lib.mjs';
import { kb, makeFrame } from './frames.mjs';

function parseArgs(argv) {
  const o = { frames: 2000, warmup: 100, every: 100, pageBoundKb: 1024, workerBoundKb: 1024 };
  const keys = { '--frames': 'frames', '--warmup': 'warmup', '--every': 'every', '--page-bound-kb': 'pageBoundKb',
                 '--worker-bound-kb': 'workerBoundKb' };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!keys[argv[i]] || !Number.isInteger(v) || v < 0) throw new Error(`bad argument ${argv[i]} ${argv[i + 1]}`);
    o[keys[argv[i]]] = v;
  }
  o.every = Math.max(1, Math.min(o.every, o.frames));
  return o;
}

/** A 640x480 clip: eight frames of one to three drawn faces (RGB for the y4m writer). */
function writeClip(file) {
  const frames = [];
  for (let k = 0; k < 8; ++k) frames.push(makeFrame(640, 480, 'rgb', 1 + (k % 3), 777 + k));
  // writeY4m repeats one image: write each frame's clip, then join them under one header.
  const parts = frames.map((f, k) => fs.readFileSync(writeY4m(`${file}.${k}`, { width: 640, height: 480, rgb: f.pixels }, 1)));
  const header = parts[0].subarray(0, parts[0].indexOf(0x0a) + 1);
  fs.writeFileSync(file, Buffer.concat([header, ...parts.map((p) => p.subarray(header.length))]));
  frames.forEach((_, k) => fs.rmSync(`${file}.${k}`));
  return file;
}

/** Commands to a target attached to `cdp` without flattening (replies come as events on `cdp`). */
function childSession(cdp, sessionId) {
  let next = 1;
  const pending = new Map();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message);
    const p = m.id && pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
    else p.resolve(m.result);
  });
  return (method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject, method });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const clip = writeClip(path.join(OUT, 'soak-faces.y4m'));
  const server = await startServer();
  const { context, close } = await launchChromium([
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`,
  ]);
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const cdp = await context.newCDPSession(page);
    const workers = [];
    cdp.on('Target.attachedToTarget', (e) => workers.push(e));
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    await cdp.send('Performance.enable');
    await page.goto(`${server.origin}/demo/`);
    await page.waitForFunction(() => window.faceattrDemo && (window.faceattrDemo.frames >= 1 || window.faceattrDemo.error),
                               null, { timeout: 60000 });
    const start = await page.evaluate(() => ({ error: window.faceattrDemo.error, backend: window.faceattrDemo.backend,
                                               localiser: window.faceattrDemo.hasLocalizer }));
    if (start.error) throw new Error(`the demo failed to start: ${start.error}`);
    // The localiser map and the Smiling map on, as a user clicks them.
    await page.check("#map-toggle");
    await page.click('#attrs li[data-name="Smiling"]');

    const worker = workers.find((w) => w.targetInfo.type === 'worker' && w.targetInfo.title === 'faceattr') ??
                   workers.find((w) => w.targetInfo.type === 'worker');
    if (!worker) throw new Error(`no worker target attached (${workers.map((w) => w.targetInfo.type).join(', ')})`);
    const ws = childSession(cdp, worker.sessionId);
    await ws("Runtime.enable");

    const waitFrames = (n) => page.waitForFunction((k) => window.faceattrDemo.frames >= k || window.faceattrDemo.error,
                                                   n, { timeout: 600000, polling: 50 });
    const measure = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      await ws('HeapProfiler.collectGarbage');
      const pageHeap = (await cdp.send('Runtime.getHeapUsage')).usedSize;
      const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
      const workerHeap = (await ws('Runtime.getHeapUsage')).usedSize;
      const d = await page.evaluate(() => ({ frames: window.faceattrDemo.frames, r: window.faceattrDemo.lastResult,
                                              elements: document.querySelectorAll('*').length }));
      return { pageHeap, workerHeap, nodes: metrics.Nodes, elements: d.elements, listeners: metrics.JSEventListeners,
               wasm: d.r.wasmMemoryBytes, frames: d.frames, faces: d.r.faces.length };
    };

    await waitFrames(o.warmup);
    const base = await measure();
    if (!(base.wasm > 0)) throw new Error(`the results carry no wasm memory size (${base.wasm})`);
    console.log(`soak_browser: demo in Chromium, ${start.backend} (worker), localiser ${start.localiser}; ` +
                'fake webcam 640x480, localiser map and Smiling map on');
    console.log(`soak_browser: warm-up ${base.frames} frames; page JS heap ${kb(base.pageHeap)} KB, ${base.elements} elements ` +
                `(${base.nodes} DOM nodes); worker JS heap ${kb(base.workerHeap)} KB, wasm memory ${kb(base.wasm)} KB`);
    const hi = { ...base };
    const lo = { ...base };
    const t0 = Date.now();
    let faces = 0;
    let withFaces = 0;
    for (let target = base.frames + o.every; ; target += o.every) {
      const last = Math.min(target, base.frames + o.frames);
      await waitFrames(last);
      const m = await measure();
      faces += m.faces;
      withFaces += m.faces > 0;
      for (const k of ['pageHeap', 'workerHeap', 'nodes', 'elements', 'wasm']) {
        hi[k] = Math.max(hi[k], m[k]);
        lo[k] = Math.min(lo[k], m[k]);
      }
      if (Math.floor((m.frames - base.frames) / o.every) % 5 === 0 || last === base.frames + o.frames) {
        console.log(`soak_browser: ${m.frames - base.frames} frames, page heap ${kb(m.pageHeap)} KB, ${m.elements} elements, ` +
                    `worker heap ${kb(m.workerHeap)} KB, wasm ${kb(m.wasm)} KB`);
      }
      if (last === base.frames + o.frames) break;
    }
    const secs = (Date.now() - t0) / 1000;
    const fin = await measure();
    const state = await page.evaluate(() => {
      const d = window.faceattrDemo;
      const ms = [...d.frameMs].sort((a, b) => a - b);
      return { error: d.error, status: document.getElementById('status').textContent,
               medianMs: ms[ms.length >> 1], explained: d.explanation && d.explanation.attribute, map: d.mapDrawn };
    });
    const n = fin.frames - base.frames;
    console.log(`soak_browser: ${n} frames after warm-up in ${secs.toFixed(1)} s (${(n / secs).toFixed(1)} frames/s, ` +
                `median ${state.medianMs.toFixed(1)} ms per frame in the page); faces in sampled frames: ${faces} over ` +
                `${withFaces} of the samples; last frame explained ${state.explained}, map ${JSON.stringify(state.map)}`);
    const line = (name, k) => `${name}: after warm-up ${kb(base[k])}, min ${kb(lo[k])}, max ${kb(hi[k])}, final ` +
                              `${kb(fin[k])}; drift max ${kb(hi[k] - base[k])}, final ${kb(fin[k] - base[k])}`;
    console.log(`soak_browser: ${line('page JS heap after GC KB', 'pageHeap')} (bound +${o.pageBoundKb})`);
    console.log(`soak_browser: ${line('worker JS heap after GC KB', 'workerHeap')} (bound +${o.workerBoundKb})`);
    console.log(`soak_browser: ${line('worker wasm memory KB', 'wasm')} (bound: no growth)`);
    console.log(`soak_browser: elements in the document: after warm-up ${base.elements}, min ${lo.elements}, max ` +
                `${hi.elements}, final ${fin.elements} (bound +50); DOM nodes (with detached ones not yet collected) ` +
                `${base.nodes}, min ${lo.nodes}, max ${hi.nodes}, final ${fin.nodes} (bound +1000); event listeners ` +
                `${base.listeners} -> ${fin.listeners}`);
    const fails = [];
    if (hi.wasm > base.wasm) fails.push(`worker wasm memory grew ${kb(hi.wasm - base.wasm)} KB`);
    if (hi.pageHeap - base.pageHeap > o.pageBoundKb * 1024) fails.push('page JS heap beyond its bound');
    if (hi.workerHeap - base.workerHeap > o.workerBoundKb * 1024) fails.push('worker JS heap beyond its bound');
    if (hi.elements - base.elements > 50) fails.push(`the document grew ${hi.elements - base.elements} elements`);
    if (hi.nodes - base.nodes > 1000) fails.push(`DOM nodes grew ${hi.nodes - base.nodes}`);
    if (state.error || errors.length) fails.push(`page errors: ${state.error ?? ''} ${errors.join('; ')}`);
    if (/failed|cannot/.test(state.status)) fails.push(`page status: ${state.status}`);
    if (fails.length) {
      console.log(`soak_browser: FAIL: ${fails.join('; ')}`);
      return 1;
    }
    console.log('soak_browser: PASS');
    return 0;
  } finally {
    await close();
    await server.close();
  }
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(`soak_browser: ${e.stack || e}`);
  process.exitCode = 2;
});
