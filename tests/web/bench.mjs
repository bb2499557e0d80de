// Browser figures for the closing notes (prints, asserts nothing):
//   node tests/web/bench.mjs            (FACEATTR_WASM_BUILD=<build dir>, default build-wasm)
// - gzip -9 sizes of each flavour's .wasm + .js (+ worker.js) and of the models
// - per-frame latency of detect() on a 320x240 (FRAME=WxH) scene with one face in headless
//   Chromium, SIMD vs SIMD+threads, in-page (wasm time = the SDK pipeline) and
//   through the worker, without and (when shipped) with LNet
// - time from navigation to the first result (bench page; and the webcam demo
//   with Chromium's built-in fake camera)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { BUILD, MODELS, benchScene, launchChromium, startServer } from './lib.mjs';

const gz = (f) => zlib.gzipSync(fs.readFileSync(f), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const dist = path.join(BUILD, 'web/dist');
console.log('== gzip -9 sizes');
for (const flavour of ['faceattr-simd', 'faceattr-simd-threads']) {
  const files = ['.wasm', '.js', '.worker.js'].map((e) => path.join(dist, flavour + e)).filter((f) => fs.existsSync(f));
  const parts = files.map((f) => `${path.basename(f)} ${kb(fs.statSync(f).size)} -> ${kb(gz(f))}`);
  console.log(`${flavour}: total ${kb(files.reduce((s, f) => s + gz(f), 0))} gz  (${parts.join(', ')})`);
}
const pkg = ['faceattr.js', 'core.js', 'runner.js', 'worker.js'].map((f) => path.join(BUILD, 'web/src', f));
console.log(`package src/*.js: ${kb(pkg.reduce((s, f) => s + gz(f), 0))} gz`);
for (const m of fs.readdirSync(MODELS).filter((f) => f.endsWith('.fam'))) {
  const f = path.join(MODELS, m);
  console.log(`models/${m}: ${kb(fs.statSync(f).size)} -> ${kb(gz(f))} gz`);
}

const runs = Number(process.env.RUNS || 50);
const [frameW, frameH] = (process.env.FRAME || '320x240').split('x').map(Number);
const frame = await benchScene(frameW, frameH);
const withLnet = fs.existsSync(path.join(MODELS, 'lnet-int8.fam'));
const server = await startServer();
const { context, close } = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
try {
  await context.addInitScript((bytes) => { window.benchFrame = Uint8Array.from(bytes); }, Array.from(frame));
  console.log(`\n== detect() on a ${frameW}x${frameH} RGBA scene (ImageData), ${runs} runs after 5 warm-up, median (p90) ms`);
  console.log('flavour             threads worker lnet  faces wasm(pipeline)   preprocess lnet   anet    detect() total   create  first result');
  const configs = [[1, 0, 0], [1, 1, 0], [2, 0, 0], [2, 1, 0], [4, 1, 0]];
  if (withLnet) configs.push([1, 0, 1], [1, 1, 1], [2, 0, 1], [2, 1, 1]);
  for (const [threads, worker, lnet] of configs) {
    const page = await context.newPage();
    await page.goto(`${server.origin}/demo/bench.html?threads=${threads}&worker=${worker}&lnet=${lnet}&runs=${runs}&size=${frameW}x${frameH}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 120000 });
    const r = await page.evaluate(() => window.benchResult);
    await page.close();
    if (r.error) throw new Error(r.error);
    console.log(`${r.backend.padEnd(20)}${String(threads).padEnd(8)}${String(worker === 1).padEnd(7)}` +
      `${String(r.hasLocalizer).padEnd(6)}${String(r.faces).padEnd(6)}` +
      `${r.wasmMedianMs.toFixed(2)} (${r.wasmP90Ms.toFixed(2)})`.padEnd(17) +
      `${r.preprocessMedianMs.toFixed(2)}`.padEnd(11) + `${r.lnetMedianMs.toFixed(2)}`.padEnd(7) +
      `${r.anetMedianMs.toFixed(2)}`.padEnd(8) +
      `${r.totalMedianMs.toFixed(2)} (${r.totalP90Ms.toFixed(2)})`.padEnd(17) +
      `${r.createMs.toFixed(0)} ms`.padEnd(8) + `${r.firstResultMs.toFixed(0)} ms`);
  }
  console.log('\n== webcam demo, fake camera: navigation -> first result shown');
  for (const q of ['', '?threads=1']) {
    const page = await context.newPage();
    await page.goto(`${server.origin}/demo/${q}`);
    await page.waitForFunction(() => window.faceattrDemo && (window.faceattrDemo.firstResultMs || window.faceattrDemo.error),
                               null, { timeout: 60000 });
    const s = await page.evaluate(() => window.faceattrDemo);
    await page.close();
    console.log(`demo/${q.padEnd(11)} ${s.backend}: session ready ${s.createMs.toFixed(0)} ms, first result ${s.firstResultMs.toFixed(0)} ms`);
  }
} finally {
  await close();
  await server.close();
}
