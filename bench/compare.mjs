#!/usr/bin/env node
// faceattr vs ONNX Runtime, natively, on the same shipped models, interleaved.
//
// For each model (.fam) the ONNX file is exported with faceattr-export-onnx;
// then, for each thread count, R rounds alternate: `faceattr bench` (N timed
// runs of the network inside the SDK, its own stage timer: the ANet stage for
// an ANet, the LNet stage for an LNet) and N runs of ONNX Runtime's
// session.run on the same network (intra-op threads = T, inter-op 1,
// graph optimisations "all"). Each side's figure is the median of its round
// medians, so both sides see the same machine load. ORT's figure includes the
// node binding's call overhead (a few tens of µs); faceattr's excludes
// preprocessing (the ONNX model has none either).
//
//   node bench/compare.mjs [--build build] [--rounds 5] [--runs 50] [--threads 1,2]
//                          [--backends xnnpack,simd] [--models a.fam,b.fam] [--json]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dieWith, parseOptions } from './options.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const die = dieWith('compare');

function parseArgs(argv) {
  return parseOptions('compare', {
    build: { kind: 'path', default: path.join(ROOT, 'build') },
    rounds: { kind: 'int', default: 5 },
    runs: { kind: 'int', default: 50 },
    threads: { kind: 'ints', default: [1, 2] },
    backends: { kind: 'strings', default: ['xnnpack', 'simd'] },
    models: { kind: 'paths', default: ['anet-int8', 'anet-fp32', 'lnet-int8', 'lnet-fp32'].map((m) => path.join(ROOT, 'models', `${m}.fam`)) },
    json: { kind: 'flag', default: false },
  }, 'node bench/compare.mjs [--build DIR] [--rounds R] [--runs N] [--threads 1,2] ' +
     '[--backends xnnpack,simd] [--models a.fam,...] [--json]', argv);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function kindOf(cli, fam) {
  const info = execFileSync(cli, ['info', '--model', fam], { encoding: 'utf8' });
  const m = /kind\s+(\w+)/.exec(info);
  if (!m) die(`cannot read the kind of ${fam}`);
  return m[1];
}

function faceattrRound(cli, fam, kind, backend, threads, runs) {
  const anet = path.join(ROOT, 'models', 'anet-int8.fam');
  const args = kind === 'lnet' ? ['bench', '-m', anet, '--lnet', fam] : ['bench', '-m', fam, '--no-lnet'];
  args.push('--backend', backend, '--threads', String(threads), '--runs', String(runs), '--warmup', '5', '--json');
  const r = JSON.parse(execFileSync(cli, args, { encoding: 'utf8' })).results[0];
  if (r.error) throw new Error(`faceattr ${backend}: ${r.error}`);
  return kind === 'lnet' ? r.lnet_ms.median : r.anet_ms.median;
}

async function ortSession(ort, onnx, threads) {
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const shape = session.inputMetadata?.[0]?.shape;
  if (!shape || shape.length !== 4) die(`${onnx}: expected one [1, C, H, W] input`);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.sin(0.37 * i);  // any fixed, non-trivial input
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, shape) };
  for (let i = 0; i < 5; ++i) await session.run(feeds);
  return { session, feeds };
}

async function ortRound(s, runs) {
  const t = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await s.session.run(s.feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(t);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cli = path.join(o.build, 'bin', 'faceattr');
  const exporter = path.join(o.build, 'bin', 'faceattr-export-onnx');
  for (const f of [cli, exporter]) if (!fs.existsSync(f)) die(`${f} not found: build the release preset first`);
  let ort;
  try {
    ort = await import('onnxruntime-node');
  } catch {
    die('onnxruntime-node is missing: npm ci --ignore-scripts (scripts/install-deps.sh)');
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceattr-compare-'));
  const rows = [];
  try {
    for (const fam of o.models) {
      if (!fs.existsSync(fam)) die(`no such model '${fam}'`);
      const kind = kindOf(cli, fam);
      const name = path.basename(fam, '.fam');
      const onnx = path.join(tmp, `${name}.onnx`);
      execFileSync(exporter, [fam, '-o', onnx], { stdio: 'ignore' });
      for (const threads of o.threads) {
        const s = await ortSession(ort, onnx, threads);
        const fa = Object.fromEntries(o.backends.map((b) => [b, []]));
        const rt = [];
        for (let r = 0; r < o.rounds; ++r) {
          for (const b of o.backends) fa[b].push(faceattrRound(cli, fam, kind, b, threads, o.runs));
          rt.push(await ortRound(s, o.runs));
        }
        const ortMs = median(rt);
        for (const b of o.backends) {
          const faMs = median(fa[b]);
          rows.push({ model: name, kind, dtype: /int8/.test(name) ? 'int8' : 'fp32', threads, backend: b,
                      faceattr_ms: faMs, ort_ms: ortMs, ratio: ortMs / faMs });
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (o.json) {
    console.log(JSON.stringify({ date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length,
                                 onnxruntime: ort.env?.versions?.common ?? null, rounds: o.rounds, runs: o.runs, rows }));
    return;
  }
  console.log(`faceattr vs ONNX Runtime (node), ${o.rounds} interleaved rounds x ${o.runs} runs, medians; ` +
              `${os.cpus()[0]?.model} x${os.cpus().length}`);
  console.log('model       dtype threads backend  faceattr ms  ORT ms   ORT/faceattr');
  for (const r of rows) {
    console.log(`${r.model.padEnd(11)} ${r.dtype.padEnd(5)} ${String(r.threads).padEnd(7)} ${r.backend.padEnd(8)} ` +
                `${r.faceattr_ms.toFixed(3).padStart(11)} ${r.ort_ms.toFixed(3).padStart(7)}   ${r.ratio.toFixed(2)}x`);
  }
}

main().catch((e) => die(e.message));
