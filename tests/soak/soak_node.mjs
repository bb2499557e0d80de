// wasm soak in node: the web package's engine (web/src/core.js, SIMD flavour,
// from the wasm build: FACEATTR_WASM_BUILD, default build-wasm/) with ANet + the
// LNet localiser (int8, localising), many frames through Engine.predict, memory
// watched.
//
//   node --expose-gc --no-experimental-fetch tests/soak/soak_node.mjs [--frames 10000]
//        [--every 100] [--heap-bound-kb 1024]
//
// Frames: the soak frame set (frames.mjs): 12 sizes from 32x32 to 640x480 in
// rgb, rgba, bgr and bgra, zero to three drawn faces; frame k is set[k mod 48].
// After a predict with a face, every seventh one also runs explain() on three
// attributes of face 0 and reads responseMap() (copies out of the wasm heap).
//
// Warm-up: two passes over the frame set (every size and format: the engine's
// frame buffer reaches its largest size, 640x480 RGBA, and the wasm heap its
// working size). Baseline right after, then every --every frames and after the
// last: the wasm memory (HEAPU8.length: the module's linear memory) and the JS
// heap (process.memoryUsage().heapUsed after global.gc(); the part of it in
// V8's code space, which grows as V8 compiles hot functions, is printed too).
// Fails (exit 1) when the wasm memory grows at all after warm-up or the JS heap
// after GC rises more than --heap-bound-kb (default 1024) above its baseline; 2
// on an error.
import path from 'node:path';
import v8 from 'node:v8';
import fs from 'node:fs';
import { MODELS, loadEngineModule } from '../web/lib.mjs';
import { frameSet, kb } from './frames.mjs';

function parseArgs(argv) {
  const o = { frames: 10000, every: 100, heapBoundKb: 1024 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${argv[i]} needs a non-negative integer`);
    if (argv[i] === '--frames') o.frames = v;
    else if (argv[i] === '--every') o.every = Math.max(1, v);
    else if (argv[i] === '--heap-bound-kb') o.heapBoundKb = v;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (typeof global.gc !== 'function') throw new Error('run node with --expose-gc');
  const { core, module } = await loadEngineModule('simd');
  const engine = core.Engine.create(module, {
    model: fs.readFileSync(path.join(MODELS, 'anet-int8.fam')),
    lnetModel: fs.readFileSync(path.join(MODELS, 'lnet-int8.fam')),
  });
  if (!engine.hasLocalizer) throw new Error('the engine does not localise');
  const frames = frameSet();
  const stats = { faces: 0, withFaces: 0, explains: 0 };
  const step = (k) => {
    const f = frames[k % frames.length];
    const r = engine.predict(f.pixels, f.width, f.height, f.format);
    stats.faces += r.faces.length;
    if (r.faces.length > 0) {
      stats.withFaces += 1;
      if (k % 7 === 0) {
        const ex = engine.explain(0, [0, 20, 31]);
        const map = engine.responseMap();
        if (ex.length !== 3 || !map || map.data.length !== map.width * map.height) throw new Error('explain / map');
        stats.explains += 1;
      }
    }
  };
  const measure = () => {
    global.gc();
    const code = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'code_space');
    return { wasm: module.HEAPU8.length, heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss,
             code: code ? code.space_used_size : 0 };
  };

  const warmup = 2 * frames.length;
  for (let k = 0; k < warmup; ++k) step(k);
  const base = measure();
  console.log(`soak_node: ${engine.backend} (${engine.kernels} kernels), ANet + LNet int8 localising; ` +
              `${frames.length} frames (32x32 .. 640x480, rgb/rgba/bgr/bgra)`);
  console.log(`soak_node: warm-up ${warmup} frames; wasm memory ${kb(base.wasm)} KB, JS heap after GC ` +
              `${kb(base.heap)} KB, RSS ${kb(base.rss)} KB`);
  Object.assign(stats, { faces: 0, withFaces: 0, explains: 0 });
  const heap = { min: base.heap, max: base.heap };
  let wasmMax = base.wasm;
  const t0 = performance.now();
  let measureMs = 0;
  for (let k = 0; k < o.frames; ++k) {
    step(warmup + k);
    if ((k + 1) % o.every === 0 || k + 1 === o.frames) {
      const t = performance.now();
      const m = measure();
      measureMs += performance.now() - t;
      heap.min = Math.min(heap.min, m.heap);
      heap.max = Math.max(heap.max, m.heap);
      wasmMax = Math.max(wasmMax, m.wasm);
      if ((k + 1) % (o.every * 10) === 0) {
        console.log(`soak_node: ${k + 1} frames, wasm ${kb(m.wasm)} KB, JS heap ${kb(m.heap)} KB, RSS ${kb(m.rss)} KB`);
      }
    }
  }
  const secs = (performance.now() - t0 - measureMs) / 1000;
  const fin = measure();
  engine.close();
  console.log(`soak_node: ${o.frames} frames in ${secs.toFixed(1)} s (${(o.frames / secs).toFixed(0)} frames/s, GC ` +
              `pauses excluded); ${stats.faces} faces found, ${stats.withFaces} frames with a face, ` +
              `${stats.explains} explain + response-map reads`);
  console.log(`soak_node: wasm memory KB: after warm-up ${kb(base.wasm)}, max ${kb(wasmMax)}, final ${kb(fin.wasm)} ` +
              '(bound: no growth)');
  console.log(`soak_node: JS heap after GC KB: after warm-up ${kb(base.heap)}, min ${kb(heap.min)}, max ${kb(heap.max)}, ` +
              `final ${kb(fin.heap)}; drift max ${kb(heap.max - base.heap)}, final ${kb(fin.heap - base.heap)} ` +
              `(bound +${o.heapBoundKb}); of which V8's code space (compiled JS) ${kb(base.code)} -> ${kb(fin.code)}; ` +
              `RSS ${kb(base.rss)} -> ${kb(fin.rss)} KB`);
  const fails = [];
  if (wasmMax > base.wasm) fails.push(`wasm memory grew ${kb(wasmMax - base.wasm)} KB after warm-up`);
  if (heap.max - base.heap > o.heapBoundKb * 1024) {
    fails.push(`JS heap rose ${kb(heap.max - base.heap)} KB above its baseline (bound ${o.heapBoundKb} KB)`);
  }
  if (fails.length) {
    console.log(`soak_node: FAIL: ${fails.join('; ')}`);
    return 1;
  }
  console.log('soak_node: PASS');
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(`soak_node: ${e.stack || e}`);
  process.exitCode = 2;
});
