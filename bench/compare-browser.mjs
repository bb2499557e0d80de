#!/usr/bin/env node
// faceattr wasm vs onnxruntime-web (wasm EP) in headless Chromium, on the same
// shipped models, through the same page and timer, interleaved.
//
// For each model (.fam) the ONNX file is exported with faceattr-export-onnx (a
// native build). A local server (127.0.0.1 only, COOP/COEP so the page is
// cross-origin isolated and both threaded builds can run) serves
// bench/compare-browser.html, the package sources (web/src), the wasm build's
// web/dist, onnxruntime-web's dist and the models. One page per thread count T
// (onnxruntime-web fixes its thread count when its module starts); in it, per
// model, R rounds alternate: each faceattr flavour runs the network N times,
// then onnxruntime-web N times; each side's figure is the median of its round
// medians, so both see the same machine load.
//
// Timer: performance.now() around the network call on both sides.
// - faceattr: the engine call (web/src/core.js Engine.predictFrame, in-page) on
//   an RGB input of exactly the network's size (the ONNX model's input: ANet
//   64x80, LNet 256x192), so the SDK's preprocessing is a copy + normalise: for
//   an ANet, predictCrop; for an LNet, predict on a face-free frame: letterbox
//   (copy + normalise), LNet and its decode, no ANet (the faces column says 0). Preprocessing is thus included
//   on faceattr's side (it takes uint8 pixels); "net" is the SDK's own stage timer
//   (lastTimings: anet_ms / lnet_ms), network only.
// - onnxruntime-web: `await session.run(feeds)` on a float32 NCHW tensor holding
//   the same pixels, normalised as the model's metadata says (input copy into its
//   heap and output read-back included), graph optimisations "all".
// Both sides' outputs on those pixels (ANet probabilities, LNet response map)
// are compared: max |diff| is reported per row (a sanity check that both run the
// same network, not a parity test: tests/onnx.cmake does that natively).
// The ratio is ORT ms / faceattr call ms (the stricter of the two faceattr figures).
// Also printed: the bundle a user ships per engine (.wasm + JS, raw and gzip -9)
// and the model files (.fam vs .onnx).
//
//   node bench/compare-browser.mjs [--wasm-build build-wasm] [--build build] [--rounds 5] [--runs 30]
//        [--warmup 5] [--threads 1,2] [--models a.fam,...] [--anet anet-int8.fam] [--json]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { dieWith, parseOptions } from './options.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORT_DIST = path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');

const die = dieWith('compare-browser');

function parseArgs(argv) {
  return parseOptions('compare-browser', {
    'wasm-build': { kind: 'path', default: path.join(ROOT, 'build-wasm') },
    build: { kind: 'path', default: path.join(ROOT, 'build') },
    rounds: { kind: 'int', default: 5 },
    runs: { kind: 'int', default: 30 },
    warmup: { kind: 'int', default: 5, min: 0 },
    threads: { kind: 'ints', default: [1, 2], max: 4 },
    models: { kind: 'paths', default: ['anet-int8', 'anet-fp32', 'lnet-int8', 'lnet-fp32'].map((m) => path.join(ROOT, 'models', `${m}.fam`)) },
    anet: { kind: 'path', default: path.join(ROOT, 'models', 'anet-int8.fam') },
    json: { kind: 'flag', default: false },
  }, 'node bench/compare-browser.mjs [--wasm-build DIR] [--build DIR] [--rounds R] [--runs N] [--warmup W] ' +
     '[--threads 1,2] [--models a.fam,...] [--anet anet.fam (the ANet of LNet sessions)] [--json]', argv);
}

const gzipSize = (f) => zlib.gzipSync(fs.readFileSync(f), { level: 9 }).length;

/** What a user ships per engine: files, raw and gzip -9 bytes. Missing files are an error. */
function bundles(dist, src) {
  const list = (name, files) => {
    const rows = files.map((f) => {
      if (!fs.existsSync(f)) die(`${f} not found`);
      return { file: path.relative(ROOT, f).startsWith('..') ? f : path.relative(ROOT, f),
               name: f.startsWith(src + path.sep) ? path.relative(src, f) : path.basename(f),
               bytes: fs.statSync(f).size, gzip: gzipSize(f) };
    });
    return { name, files: rows, bytes: rows.reduce((s, r) => s + r.bytes, 0), gzip: rows.reduce((s, r) => s + r.gzip, 0) };
  };
  // The package's JS a page loads for the wasm backend: faceattr.js and the worker
  // with everything they import statically (dynamic import()s, e.g. the WebGPU
  // layer, are left out: they load only when used).
  const pkg = [];
  const visit = (f) => {
    if (pkg.includes(f)) return;
    if (!fs.existsSync(f)) die(`${f} not found`);
    pkg.push(f);
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      visit(path.resolve(path.dirname(f), m[1]));
    }
  };
  for (const entry of ['faceattr.js', 'worker.js']) visit(path.join(src, entry));
  // emscripten 3.1.6 writes a separate .worker.js for the threads flavour.
  const flavour = (n) => ['.wasm', '.js', '.worker.js'].map((x) => path.join(dist, n + x))
    .filter((f) => !f.endsWith('.worker.js') || fs.existsSync(f));
  return [
    list('faceattr-simd (+ package JS)', [...flavour('faceattr-simd'), ...pkg]),
    list('faceattr-simd-threads (+ package JS)', [...flavour('faceattr-simd-threads'), ...pkg]),
    list('onnxruntime-web wasm (ort.wasm.min.mjs)',
         ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map((f) => path.join(ORT_DIST, f))),
  ];
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
                '.wasm': 'application/wasm' };

/** 127.0.0.1-only static server with COOP/COEP; records what /ort/ and /web/ served. */
function startServer(routes) {
  const served = new Set();
  const server = http.createServer((req, res) => {
    const headers = { 'Cache-Control': 'no-cache', 'Cross-Origin-Opener-Policy': 'same-origin',
                      'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    const url = new URL(req.url, 'http://localhost');
    const file = routes(decodeURIComponent(url.pathname));
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, headers);
      return res.end('not found\n');
    }
    served.add(url.pathname);
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    origin: `http://127.0.0.1:${server.address().port}`, served, close: () => new Promise((r) => server.close(r)),
  })));
}

function safeJoin(root, rel) {
  const parts = rel.split('/').filter(Boolean);
  if (parts.some((p) => p === '..' || p.startsWith('.'))) return null;
  return path.join(root, ...parts);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dist = path.join(o.wasmBuild, 'web', 'dist');
  // The package sources staged beside dist/ by the wasm build (same source as the
  // modules); the repository's web/src when the build has not staged them.
  const src = fs.existsSync(path.join(o.wasmBuild, 'web', 'src', 'core.js')) ? path.join(o.wasmBuild, 'web', 'src')
                                                                              : path.join(ROOT, 'web', 'src');
  const cli = path.join(o.build, 'bin', 'faceattr');
  const exporter = path.join(o.build, 'bin', 'faceattr-export-onnx');
  for (const f of [path.join(dist, 'faceattr-simd.wasm'), path.join(dist, 'faceattr-simd-threads.wasm')]) {
    if (!fs.existsSync(f)) die(`${f} not found: build the wasm preset (or pass --wasm-build)`);
  }
  for (const f of [cli, exporter]) if (!fs.existsSync(f)) die(`${f} not found: build the release preset (or pass --build)`);
  if (!fs.existsSync(path.join(ORT_DIST, 'ort.wasm.min.mjs'))) {
    die('onnxruntime-web is missing: npm ci --ignore-scripts (scripts/install-deps.sh)');
  }
  const ortVersion = JSON.parse(fs.readFileSync(path.join(ORT_DIST, '..', 'package.json'), 'utf8')).version;

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceattr-compare-browser-'));
  const models = [];
  const modelFiles = {};
  for (const fam of [o.anet, ...o.models]) if (!fs.existsSync(fam)) die(`no such model '${fam}'`);
  for (const fam of o.models) {
    const info = execFileSync(cli, ['info', '--model', fam], { encoding: 'utf8' });
    const kind = /kind\s+(\w+)/.exec(info)?.[1];
    if (kind !== 'anet' && kind !== 'lnet') die(`cannot read the kind of ${fam}`);
    // Normalisation of the input (ORT gets the same pixels as floats): "mean [a, b, c], std [d, e, f]".
    const norm = /mean \[([^\]]+)\], std \[([^\]]+)\]/.exec(info);
    if (!norm) die(`cannot read the input normalisation of ${fam}`);
    const [mean, std] = [norm[1], norm[2]].map((v) => v.split(',').map(Number));
    const name = path.basename(fam, '.fam');
    const onnx = path.join(tmp, `${name}.onnx`);
    execFileSync(exporter, [fam, '-o', onnx], { stdio: 'ignore' });
    modelFiles[`${name}.fam`] = fam;
    modelFiles[`${name}.onnx`] = onnx;
    models.push({ name, kind, dtype: /int8/.test(name) ? 'int8' : 'fp32', fam, onnx, mean, std,
                  sizes: { model: name, fam_bytes: fs.statSync(fam).size, fam_gzip: gzipSize(fam),
                           onnx_bytes: fs.statSync(onnx).size, onnx_gzip: gzipSize(onnx) } });
  }
  modelFiles['anet.fam'] = o.anet;

  const server = await startServer((p) => {
    if (p === '/compare-browser.html') return path.join(ROOT, 'bench', 'compare-browser.html');
    if (p.startsWith('/web/src/')) return safeJoin(src, p.slice(9));
    if (p.startsWith('/web/dist/')) return safeJoin(dist, p.slice(10));
    if (p.startsWith('/ort/')) return safeJoin(ORT_DIST, p.slice(5));
    if (p.startsWith('/m/')) return modelFiles[p.slice(3)] ?? null;
    return null;
  });
  process.env.FACEATTR_WASM_BUILD ??= o.wasmBuild;  // tests/web/lib.mjs reads it at import
  const { launchChromium } = await import(pathToFileURL(path.join(ROOT, 'tests', 'web', 'lib.mjs')).href);
  const { context, close } = await launchChromium();
  // Nothing but the local server: any other request is aborted and reported.
  const foreign = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || url.startsWith(server.origin)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const rows = [];
  let browser = null;
  try {
    for (const threads of o.threads) {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.origin}/compare-browser.html?threads=${threads}`);
      await page.waitForFunction(() => window.ready || null, null, { timeout: 60000 }).catch(() => {
        throw new Error(`the page did not load: ${errors.join('; ') || 'timeout'}`);
      });
      const ready = await page.evaluate(() => window.ready);
      browser ??= await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent);
      if (threads > 1 && !ready.crossOriginIsolated) throw new Error('the page is not cross-origin isolated');
      for (const m of models) {
        const r = await page.evaluate((args) => window.compareModel(args), {
          kind: m.kind, anetUrl: m.kind === 'lnet' ? '/m/anet.fam' : `/m/${m.name}.fam`,
          lnetUrl: m.kind === 'lnet' ? `/m/${m.name}.fam` : null, onnxUrl: `/m/${m.name}.onnx`, mean: m.mean, std: m.std,
          rounds: o.rounds, runs: o.runs, warmup: o.warmup,
        });
        for (const f of r.faceattr) {
          rows.push({ model: m.name, kind: m.kind, dtype: m.dtype, threads, flavour: `faceattr-${f.flavour}`,
                      kernels: f.kernels, faces: m.kind === 'lnet' ? f.faces : null, max_abs_diff: f.max_abs_diff, faceattr_ms: f.call_ms, faceattr_net_ms: f.net_ms,
                      ort_ms: r.ort_ms, ratio: r.ort_ms / f.call_ms, ratio_net: r.ort_ms / f.net_ms });
        }
      }
      await page.close();
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    }
  } finally {
    await close();
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (foreign.length) die(`requests outside the local server: ${foreign.join(', ')}`);
  const b = bundles(dist, src);
  const listed = new Set(b[2].files.map((f) => '/ort/' + path.basename(f.file)));
  const unlisted = [...server.served].filter((p) => p.startsWith('/ort/') && !listed.has(p));
  const modelSizes = models.map((m) => m.sizes);
  const out = { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length,
                loadavg: os.loadavg().map((x) => Number(x.toFixed(2))), browser, onnxruntime_web: ortVersion,
                rounds: o.rounds, runs: o.runs, warmup: o.warmup, rows, bundles: b, ort_files_fetched_unlisted: unlisted,
                models: modelSizes };
  if (o.json) {
    console.log(JSON.stringify(out));
    return;
  }
  console.log(`faceattr wasm vs onnxruntime-web ${ortVersion} (wasm EP) in ${browser}, ${o.rounds} interleaved rounds x ` +
              `${o.runs} runs, medians; ${out.cpu} x${out.cores}, load ${out.loadavg.join(' ')}`);
  console.log('model       dtype threads faceattr flavour         faceattr ms (net)   ORT ms   ORT/faceattr (net)  max|diff|');
  for (const r of rows) {
    console.log(`${r.model.padEnd(11)} ${r.dtype.padEnd(5)} ${String(r.threads).padEnd(7)} ${r.flavour.padEnd(24)} ` +
                `${r.faceattr_ms.toFixed(3).padStart(8)} (${r.faceattr_net_ms.toFixed(3)})  ${r.ort_ms.toFixed(3).padStart(7)}` +
                `   ${r.ratio.toFixed(2)}x (${r.ratio_net.toFixed(2)}x)  ${r.max_abs_diff?.toExponential(1) ?? '-'}${r.kind === 'lnet' && r.faces ? `  [${r.faces} faces: ANet ran too]` : ''}`);
  }
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log('\nbundle (what a user ships)                  raw          gzip -9');
  for (const x of b) {
    console.log(`${x.name.padEnd(42)} ${kib(x.bytes).padStart(11)} ${kib(x.gzip).padStart(12)}`);
    for (const f of x.files) console.log(`  ${f.name.padEnd(40)} ${kib(f.bytes).padStart(11)} ${kib(f.gzip).padStart(12)}`);
  }
  if (unlisted.length) console.log(`note: the page also fetched ${unlisted.join(', ')} from onnxruntime-web`);
  console.log('\nmodel files            .fam raw   .fam gzip   .onnx raw  .onnx gzip');
  for (const m of modelSizes) {
    console.log(`${m.model.padEnd(18)} ${kib(m.fam_bytes).padStart(11)} ${kib(m.fam_gzip).padStart(11)} ` +
                `${kib(m.onnx_bytes).padStart(11)} ${kib(m.onnx_gzip).padStart(11)}`);
  }
}

main().catch((e) => die(e.stack || e.message));
