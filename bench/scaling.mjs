#!/usr/bin/env node
// faceattr natively: latency against frame size and number of faces, and memory
// per session. Drives `faceattr bench` (docs/cli.md: --size, --paste, memory):
//
// - frame size: the pipeline on a frame of each size, without LNet (the whole
//   frame, centre-cropped, is the face: preprocessing scales it down) and with
//   LNet (one test crop pasted in the first cell of a 2x2 grid, i.e. about a
//   quarter of the frame's width, a size the shipped LNet finds: letterbox, LNet,
//   one ANet);
// - faces: the LNet pipeline on one frame size with 1..N test crops pasted on a
//   fixed 4x2 grid (same face size for every N); the `found` column is how many
//   LNet returned (ANet runs once per found face);
// - memory: one process per model set, one session each: heap the session holds
//   after creation + warm-up, process RSS growth over the same span, model bytes.
// Latency configurations are interleaved: R rounds, each running every
// configuration once (N timed runs); each figure is the median of its round
// medians.
//
//   node bench/scaling.mjs [--build build] [--backend auto] [--threads 1] [--rounds 3] [--runs 30] [--warmup 5]
//        [--sizes 160x120,320x240,640x480,1280x720] [--faces 1,2,4,6,8] [--faces-size 640x480]
//        [--anet models/anet-int8.fam] [--lnet models/lnet-int8.fam] [--crops DIR] [--json]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dieWith, parseOptions } from './options.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const die = dieWith('scaling');

function parseArgs(argv) {
  const o = parseOptions('scaling', {
    build: { kind: 'path', default: path.join(ROOT, 'build') },
    backend: { kind: 'string', default: 'auto' },
    threads: { kind: 'int', default: 1 },
    rounds: { kind: 'int', default: 3 },
    runs: { kind: 'int', default: 30 },
    warmup: { kind: 'int', default: 5, min: 0 },
    sizes: { kind: 'strings', default: ['160x120', '320x240', '640x480', '1280x720'] },
    faces: { kind: 'ints', default: [1, 2, 4, 6, 8], max: 8 },  // a 4x2 grid
    'faces-size': { kind: 'string', default: '640x480' },
    anet: { kind: 'path', default: path.join(ROOT, 'models', 'anet-int8.fam') },
    lnet: { kind: 'path', default: path.join(ROOT, 'models', 'lnet-int8.fam') },
    crops: { kind: 'path', default: path.resolve(process.env.FACEATTR_DATA_DIR || path.join(ROOT, '..', 'shared', 'data'),
                                                 'celeba', 'test_crops') },
    json: { kind: 'flag', default: false },
  }, 'node bench/scaling.mjs [--build DIR] [--backend B] [--threads T] [--rounds R] [--runs N] [--warmup W] ' +
     '[--sizes WxH,...] [--faces 1,2,...] [--faces-size WxH] [--anet F] [--lnet F] [--crops DIR] [--json]', argv);
  for (const s of [...o.sizes, o.facesSize]) if (!/^\d+x\d+$/.test(s)) die(`sizes are WxH, got '${s}'`);
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function bench(cli, args) {
  const j = JSON.parse(execFileSync(cli, ['bench', ...args, '--json'], { encoding: 'utf8', maxBuffer: 16 << 20 }));
  const r = j.results[0];
  if (r.error) throw new Error(`faceattr bench ${args.join(' ')}: ${r.error}`);
  return { ...j, r };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cli = path.join(o.build, 'bin', 'faceattr');
  if (!fs.existsSync(cli)) die(`${cli} not found: build the release preset first (or pass --build)`);
  for (const f of [o.anet, o.lnet]) if (!fs.existsSync(f)) die(`no such model '${f}'`);
  if (!fs.existsSync(o.crops)) die(`no test crops at ${o.crops} (set FACEATTR_DATA_DIR or pass --crops)`);
  const maxFaces = Math.max(...o.faces);
  const crops = fs.readdirSync(o.crops).filter((f) => f.endsWith('.jpg')).sort().slice(0, maxFaces)
    .map((f) => path.join(o.crops, f));
  if (crops.length < maxFaces) die(`${o.crops} has fewer than ${maxFaces} .jpg crops`);
  const common = ['-m', o.anet, '--backend', o.backend, '--threads', String(o.threads), '--runs', String(o.runs),
                  '--warmup', String(o.warmup)];

  // Latency configurations, interleaved over the rounds.
  const configs = [];
  for (const size of o.sizes) {
    configs.push({ sweep: 'size', size, lnet: false, pasted: 0, args: [...common, '--no-lnet', '--size', size] });
    configs.push({ sweep: 'size', size, lnet: true, pasted: 1,
                   args: [...common, '--lnet', o.lnet, '--size', size, '--paste', crops[0], '--grid', '2x2'] });
  }
  for (const n of o.faces) {
    configs.push({ sweep: 'faces', size: o.facesSize, lnet: true, pasted: n,
                   args: [...common, '--lnet', o.lnet, '--size', o.facesSize, '--paste', ...crops.slice(0, n),
                          '--grid', '4x2'] });
  }
  const acc = configs.map(() => ({ total: [], pre: [], lnet: [], anet: [], faces: new Set(), backend: null }));
  for (let round = 0; round < o.rounds; ++round) {
    configs.forEach((c, i) => {
      const { r } = bench(cli, c.args);
      const a = acc[i];
      a.total.push(r.total_ms.median);
      a.pre.push(r.preprocess_ms.median);
      a.lnet.push(r.lnet_ms.median);
      a.anet.push(r.anet_ms.median);
      a.faces.add(r.faces);
      a.backend = r.backend;
    });
  }
  const rows = configs.map((c, i) => ({
    sweep: c.sweep, size: c.size, lnet: c.lnet, pasted: c.pasted, found: [...acc[i].faces].join('/'),
    backend: acc[i].backend, total_ms: median(acc[i].total), preprocess_ms: median(acc[i].pre),
    lnet_ms: median(acc[i].lnet), anet_ms: median(acc[i].anet),
  }));

  // Memory: one process per model set (RSS is per process), at the first size.
  const fp32 = (f) => f.replace(/int8(\.fam)$/, 'fp32$1');
  const sets = [['ANet int8', o.anet, null], ['ANet fp32', fp32(o.anet), null], ['ANet + LNet int8', o.anet, o.lnet],
                ['ANet + LNet fp32', fp32(o.anet), fp32(o.lnet)]].filter(([, a, l]) => fs.existsSync(a) && (!l || fs.existsSync(l)));
  const memory = sets.map(([name, anet, lnet]) => {
    const j = bench(cli, ['-m', anet, ...(lnet ? ['--lnet', lnet] : ['--no-lnet']), '--backend', o.backend,
                          '--threads', String(o.threads), '--runs', '1', '--warmup', '2', '--size', o.facesSize]);
    return { models: name, backend: j.r.backend, model_bytes: j.model_bytes,
             session_heap_bytes: j.r.memory.session_heap_bytes, rss_delta_bytes: j.r.memory.rss_delta_bytes,
             peak_rss_bytes: j.peak_rss_bytes };
  });

  const out = { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length,
                loadavg: os.loadavg().map((x) => Number(x.toFixed(2))), cli, backend: o.backend, threads: o.threads,
                rounds: o.rounds, runs: o.runs, anet: path.basename(o.anet), lnet: path.basename(o.lnet), rows, memory };
  if (o.json) {
    console.log(JSON.stringify(out));
    return;
  }
  console.log(`faceattr scaling (${cli}), backend ${o.backend} -> ${rows[0]?.backend}, ${o.threads} thread(s), ` +
              `${o.rounds} interleaved rounds x ${o.runs} runs, medians; ${out.cpu} x${out.cores}, load ${out.loadavg.join(' ')}`);
  console.log('\nlatency vs frame size (LNet: one test crop pasted, a quarter of the frame wide)');
  console.log('size        lnet  found  total ms  preprocess ms  lnet ms  anet ms');
  const line = (r) => `${r.found.padStart(5)}  ${r.total_ms.toFixed(3).padStart(8)}  ${r.preprocess_ms.toFixed(3).padStart(13)}  ` +
                      `${r.lnet_ms.toFixed(3).padStart(7)}  ${r.anet_ms.toFixed(3).padStart(7)}`;
  for (const r of rows.filter((x) => x.sweep === 'size')) console.log(`${r.size.padEnd(11)} ${(r.lnet ? 'yes' : 'no').padEnd(5)}${line(r)}`);
  console.log(`\nlatency vs faces (${o.facesSize}, LNet ${out.lnet}, test crops pasted on a 4x2 grid)`);
  console.log('pasted  found  total ms  preprocess ms  lnet ms  anet ms');
  for (const r of rows.filter((x) => x.sweep === 'faces')) console.log(`${String(r.pasted).padStart(6)} ${line(r)}`);
  const kib = (b) => (b < 0 ? 'n/a' : `${(b / 1024).toFixed(0)} KiB`);
  console.log(`\nmemory per session (one process each, ${o.facesSize} frame)`);
  console.log('models              backend    model files  session heap  RSS growth  process peak RSS');
  for (const m of memory) {
    console.log(`${m.models.padEnd(19)} ${m.backend.padEnd(10)} ${kib(m.model_bytes).padStart(11)} ` +
                `${kib(m.session_heap_bytes).padStart(13)} ${kib(m.rss_delta_bytes).padStart(11)} ${kib(m.peak_rss_bytes).padStart(17)}`);
  }
}

main().catch((e) => die(e.message));
