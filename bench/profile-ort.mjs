#!/usr/bin/env node
// ONNX Runtime's time per node on the shipped models, to set against
// faceattr's (faceattr_bench_pipeline --benchmark_filter='layers/...', the
// per-node breakdown of a whole-network run with the pool).
//
// For each model the ONNX file is exported with faceattr-export-onnx, then an
// ORT session (same options as bench/compare.mjs: intra-op threads = T,
// inter-op 1, sequential, graph optimisations "all") runs W warm-up and N
// profiled runs with enableProfiling; the trace's "<node>_kernel_time" events
// give each node's duration per run. Printed per model and thread count: the
// optimised graph's nodes in order (op type, node name), median µs per run,
// and the median of the whole session.run as seen from JS.
//
//   node bench/profile-ort.mjs [--build build] [--runs 200] [--threads 1,2] [--models a.fam,...] [--json]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dieWith, parseOptions } from './options.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const die = dieWith('profile-ort');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function profile(ort, onnx, threads, runs, tmp) {
  const prefix = path.join(tmp, `ort-${path.basename(onnx, '.onnx')}-t${threads}`);
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    enableProfiling: true, profileFilePrefix: prefix,
  });
  const shape = session.inputMetadata?.[0]?.shape;
  if (!shape || shape.length !== 4) die(`${onnx}: expected one [1, C, H, W] input`);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.sin(0.37 * i);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, shape) };
  const call = [];
  for (let i = 0; i < 10 + runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    if (i >= 10) call.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  session.endProfiling();
  await session.release?.();
  const file = fs.readdirSync(tmp).map((f) => path.join(tmp, f)).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!file) die(`no profile written for ${onnx}`);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Node events in run order; model_run events delimit the runs (the first 10 are warm-up).
  const runsSeen = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  const firstProfiled = runsSeen[10] ?? 0;
  const nodes = new Map();  // name -> {op, times[]}
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < firstProfiled) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, { op: e.args?.op_name ?? '?', provider: e.args?.provider ?? '', times: [] });
    nodes.get(name).times.push(e.dur);
  }
  const profiledRuns = Math.max(1, runsSeen.length - 10);
  const rows = [...nodes.entries()].map(([name, v]) => ({
    node: name, op: v.op, calls_per_run: v.times.length / profiledRuns, median_us: median(v.times),
  }));
  const sum = rows.reduce((a, r) => a + r.median_us * r.calls_per_run, 0);
  return { rows, nodes_sum_us: sum, call_median_us: median(call) };
}

async function main() {
  const o = parseOptions('profile-ort', {
    build: { kind: 'path', default: path.join(ROOT, 'build') },
    runs: { kind: 'int', default: 200 },
    threads: { kind: 'ints', default: [1, 2] },
    models: { kind: 'paths', default: ['anet-int8', 'anet-fp32', 'lnet-int8', 'lnet-fp32'].map((m) => path.join(ROOT, 'models', `${m}.fam`)) },
    json: { kind: 'flag', default: false },
  }, 'node bench/profile-ort.mjs [--build DIR] [--runs N] [--threads 1,2] [--models a.fam,...] [--json]');
  const exporter = path.join(o.build, 'bin', 'faceattr-export-onnx');
  if (!fs.existsSync(exporter)) die(`${exporter} not found: build the release preset first`);
  let ort;
  try {
    ort = await import('onnxruntime-node');
  } catch {
    die('onnxruntime-node is missing: npm ci --ignore-scripts (scripts/install-deps.sh)');
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceattr-profile-ort-'));
  const out = [];
  try {
    for (const fam of o.models) {
      if (!fs.existsSync(fam)) die(`no such model '${fam}'`);
      const name = path.basename(fam, '.fam');
      const onnx = path.join(tmp, `${name}.onnx`);
      execFileSync(exporter, [fam, '-o', onnx], { stdio: 'ignore' });
      for (const threads of o.threads) out.push({ model: name, threads, ...(await profile(ort, onnx, threads, o.runs, tmp)) });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (o.json) {
    console.log(JSON.stringify({ load: os.loadavg(), runs: o.runs, results: out }, null, 1));
    return;
  }
  console.log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${o.runs} profiled runs`);
  for (const r of out) {
    console.log(`\n${r.model} T=${r.threads}: session.run median ${r.call_median_us.toFixed(1)} us, ` +
                `sum of node medians ${r.nodes_sum_us.toFixed(1)} us`);
    for (const n of r.rows)
      console.log(`  ${n.median_us.toFixed(1).padStart(8)} us  ${n.op.padEnd(22)} ${n.node}` +
                  (n.calls_per_run !== 1 ? `  (x${n.calls_per_run.toFixed(2)} per run)` : ''));
  }
}

main().catch((e) => die(e.stack ?? String(e)));
