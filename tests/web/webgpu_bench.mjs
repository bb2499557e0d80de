// Per-frame latency of the two backends (WebGPU, wasm) in headless Debian Chromium:
// opens demo/webgpu-bench.html (the page a user with a real GPU opens to get the same
// table) with --enable-unsafe-webgpu and prints its table. Here the WebGPU adapter is
// SwiftShader, a CPU emulation of a GPU: its figures say nothing about a real GPU.
//
//   FACEATTR_WASM_BUILD=build-wasm node tests/web/webgpu_bench.mjs [--runs 20] [--rounds 3] [--models int8,fp32]
//
// The frame: lib.mjs benchScene(), a 320x240 scene with one test-crop face (as tests/web/bench.mjs).
import os from 'node:os';
import { parseOptions } from '../../bench/options.mjs';
import { benchScene, launchChromium, startServer } from './lib.mjs';

const args = parseOptions('webgpu_bench', {
  runs: { kind: 'int', default: 20 },
  rounds: { kind: 'int', default: 3 },
  models: { kind: 'string', default: 'int8,fp32' },
}, 'node tests/web/webgpu_bench.mjs [--runs 20] [--rounds 3] [--models int8,fp32]');
const query = new URLSearchParams({ runs: String(args.runs), rounds: String(args.rounds), models: args.models });

const frame = await benchScene();

const server = await startServer();
const { context, close } = await launchChromium(['--enable-unsafe-webgpu']);
try {
  await context.addInitScript((bytes) => { window.benchFrame = Uint8Array.from(bytes); }, Array.from(frame));
  const page = await context.newPage();
  const load0 = os.loadavg()[0];
  await page.goto(`${server.origin}/demo/webgpu-bench.html?${query}`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 20 * 60 * 1000 });
  const r = await page.evaluate(() => window.benchResult);
  if (r.error) throw new Error(r.error);
  const a = r.adapter;
  console.log(`WebGPU adapter: ${a ? `${a.vendor} ${a.architecture}${a.fallback ? ' (software fallback adapter: CPU emulation, not a GPU)' : ''}` : 'none'}`);
  console.log(`${r.userAgent}`);
  console.log(`detect() on a ${r.frame.width}x${r.frame.height} frame, ${r.rounds} interleaved rounds x ${r.runs} runs per backend, worker ${r.worker}; load average ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)} (${os.cpus().length} cores)\n`);
  console.log('| models | backend | detect() median ms | p90 ms | LNet ms | ANet ms | faces |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const f = (v) => (v == null ? '–' : v.toFixed(1));
  for (const row of r.rows) {
    if (row.error) console.log(`| ${row.models} | ${row.backend} | ${row.error} | | | | |`);
    else console.log(`| ${row.models} | ${row.backend} | ${f(row.medianMs)} | ${f(row.p90Ms)} | ${f(row.lnetMs)} | ${f(row.anetMs)} | ${row.faces} |`);
  }
} finally {
  await close();
  await server.close();
}
