#!/usr/bin/env node
// ONNX Runtime (npm onnxruntime-node) checks for exported faceattr models.
//
// Parity: run the model on the golden inputs and compare with the expected
// outputs of a <model>.golden.json file, written by the trainer (LibTorch) or
// by faceattr-run-golden (the SDK):
//   {"n": 4, "input": "x[i][h][w][c] = 1.5*sin(0.37*h + 0.23*w + 1.1*c + 0.7*i)",
//    "outputs": [[...], ...], "output_lsb": 0.0157 (optional, int8 models)}
// The formula gives the NHWC normalised input of sample i; it is transposed to
// the ONNX model's NCHW input. Exit 0 when every |ort - expected| <= tolerance.
//   node tests/onnx/ort_parity.mjs --onnx M.onnx --golden M.golden.json --tol 1e-4
//   node tests/onnx/ort_parity.mjs --onnx M.onnx --golden M.golden.json --tol-lsb 2 --min-exact 0.9
// --tol-lsb K bounds |diff| by K * output_lsb instead; --min-exact F also needs
// a fraction F of all outputs within --tol (int8: rounding may flip rare ties,
// but a systematic error would move most outputs); --exact-lsb E counts an output
// as exact within E * output_lsb instead of --tol (for an int8 network with an f32
// classifier, whose outputs move by fractions of an LSB rather than whole steps).
//
// Latency: median wall time of session.run over N runs (after warm-up) at a
// given intra-op thread count, on golden input 0. Prints one JSON line.
//   node tests/onnx/ort_parity.mjs --onnx M.onnx --bench --runs 200 --threads 1
//
// Exit codes: 0 pass, 1 mismatch, 2 usage/setup error (e.g. onnxruntime-node missing).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dieWith, parseOptions } from '../../bench/options.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const die = dieWith('ort_parity');

function parseArgs(argv) {
  const opts = parseOptions('ort_parity', {
    onnx: { kind: 'string' },
    golden: { kind: 'string' },
    tol: { kind: 'number', default: 1e-4 },
    'tol-lsb': { kind: 'number', default: null },
    'min-exact': { kind: 'number', default: 0 },
    'exact-lsb': { kind: 'number', default: null },
    bench: { kind: 'flag', default: false },
    runs: { kind: 'int', default: 100 },
    warmup: { kind: 'int', default: 10, min: 0 },
    threads: { kind: 'int', default: 1 },
    'opt-level': { kind: 'string', default: 'all' },
  }, 'ort_parity.mjs --onnx M.onnx (--golden G.json [--tol T] [--tol-lsb K] [--min-exact F] [--exact-lsb E] | --bench ' +
     '[--runs N] [--warmup W] [--threads T]) [--opt-level disabled|basic|extended|all]', argv);
  if (!opts.onnx) die('--onnx is required');
  if (!opts.bench && !opts.golden) die('give --golden G.json (parity) or --bench (latency)');
  return opts;
}

async function loadOrt() {
  try {
    const m = await import('onnxruntime-node');
    return m.default ?? m;
  } catch (e) {
    die(`cannot load onnxruntime-node (${e.code ?? e.message}).\n` +
        `  Install it in the repository root: (cd ${REPO_ROOT} && npm ci --ignore-scripts)\n` +
        '  (scripts/install-deps.sh runs this; plain `npm install` would try to download a CUDA build)');
  }
}

// "x[i][h][w][c] = <expr>" -> (i, h, w, c) => number. Only arithmetic, numbers,
// i/h/w/c and Math functions are accepted.
const MATH_NAMES = ['sin', 'cos', 'tan', 'exp', 'log', 'sqrt', 'tanh', 'abs', 'floor', 'round', 'min', 'max',
                    'pow', 'PI'];
export function compileFormula(text) {
  const m = /^\s*x\s*\[\s*i\s*\]\s*\[\s*h\s*\]\s*\[\s*w\s*\]\s*\[\s*c\s*\]\s*=\s*(.+)$/.exec(text ?? '');
  if (!m) throw new Error(`input formula must read "x[i][h][w][c] = <expression>", got '${text}'`);
  const expr = m[1];
  if (!/^[0-9A-Za-z_.+\-*/()\s,]*$/.test(expr)) throw new Error(`unexpected character in formula '${expr}'`);
  for (const tok of expr.match(/\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+|[A-Za-z_]\w*/g) ?? []) {
    if (/^[A-Za-z_]/.test(tok) && !['i', 'h', 'w', 'c', ...MATH_NAMES].includes(tok))
      throw new Error(`unknown name '${tok}' in formula '${expr}'`);
  }
  // eslint-disable-next-line no-new-func
  return new Function('i', 'h', 'w', 'c', `const {${MATH_NAMES.join(',')}} = Math; return (${expr});`);
}

// Sample i as an NCHW Float32Array [1, C, H, W] (values computed in double, rounded to float).
function makeInput(f, i, C, H, W) {
  const x = new Float32Array(C * H * W);
  for (let c = 0; c < C; ++c)
    for (let h = 0; h < H; ++h)
      for (let w = 0; w < W; ++w) x[(c * H + h) * W + w] = f(i, h, w, c);
  return x;
}

async function openSession(ort, opts) {
  if (!fs.existsSync(opts.onnx)) die(`no such model file '${opts.onnx}'`);
  const session = await ort.InferenceSession.create(opts.onnx, {
    intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: opts.optLevel,
  });
  const meta = session.inputMetadata?.[0];
  const shape = meta?.shape ?? [];
  if (session.inputNames.length !== 1 || shape.length !== 4 || shape.some((d) => typeof d !== 'number'))
    die(`expected one input [1, C, H, W] with fixed dims, got ${session.inputNames.join(',')} ${JSON.stringify(shape)}`);
  return { session, C: shape[1], H: shape[2], W: shape[3] };
}

function feedsFor(ort, s, x) {
  return { [s.session.inputNames[0]]: new ort.Tensor('float32', x, [1, s.C, s.H, s.W]) };
}

// The model's output in the .fam's layout: a rank-4 ONNX output is NCHW, the goldens (and the
// SDK) are NHWC, so [1, C, H, W] is transposed (a no-op for C = 1).
async function run(s, feeds) {
  const out = (await s.session.run(feeds))[s.session.outputNames[0]];
  if (out.dims.length !== 4 || out.dims[1] === 1) return out.data;
  const [, C, H, W] = out.dims;
  const y = new Float32Array(out.data.length);
  for (let c = 0; c < C; ++c)
    for (let h = 0; h < H; ++h)
      for (let w = 0; w < W; ++w) y[(h * W + w) * C + c] = out.data[(c * H + h) * W + w];
  return y;
}

async function parity(ort, opts) {
  let golden;
  try {
    golden = JSON.parse(fs.readFileSync(opts.golden, 'utf8'));
  } catch (e) {
    die(`cannot read golden file '${opts.golden}': ${e.message}`);
  }
  const f = compileFormula(golden.input);
  const n = golden.n;
  if (!Number.isInteger(n) || n < 1 || !Array.isArray(golden.outputs) || golden.outputs.length !== n)
    die(`golden file needs "n" and n arrays in "outputs"`);
  let tol = opts.tol;
  let exactTol = opts.tol;
  if (opts.tolLsb !== null || opts.exactLsb !== null) {
    if (!(golden.output_lsb > 0)) die('--tol-lsb and --exact-lsb need "output_lsb" > 0 in the golden file (int8 models)');
    if (opts.tolLsb !== null) tol = opts.tolLsb * golden.output_lsb;
    if (opts.exactLsb !== null) exactTol = opts.exactLsb * golden.output_lsb;
  }
  const s = await openSession(ort, opts);
  let maxDiff = 0, where = null, exact = 0, total = 0;
  for (let i = 0; i < n; ++i) {
    const y = await run(s, feedsFor(ort, s, makeInput(f, i, s.C, s.H, s.W)));
    const want = golden.outputs[i];
    if (y.length !== want.length) {
      console.error(`ort_parity: sample ${i}: ONNX Runtime gives ${y.length} outputs, golden has ${want.length}`);
      process.exit(1);
    }
    for (let k = 0; k < y.length; ++k) {
      const d = Math.abs(y[k] - want[k]);
      ++total;
      if (d <= exactTol) ++exact;
      if (!(d <= maxDiff)) { maxDiff = d; where = { sample: i, index: k, ort: y[k], expected: want[k] }; }
    }
  }
  const exactFrac = exact / total;
  const ok = maxDiff <= tol && exactFrac >= opts.minExact;
  const lsb = golden.output_lsb > 0 ? ` = ${(maxDiff / golden.output_lsb).toFixed(3)} output LSB` : '';
  const exactText = opts.minExact > 0 ? `, ${(100 * exactFrac).toFixed(1)}% within ${exactTol} (need ${100 * opts.minExact}%)` : '';
  console.log(`ort_parity: ${path.basename(opts.onnx)} vs ${path.basename(opts.golden)} (${golden.source ?? 'golden'}): ` +
              `${n} samples, max |diff| ${maxDiff.toExponential(3)}${lsb}, tolerance ${tol.toExponential(3)}${exactText}: ` +
              (ok ? 'PASS' : 'FAIL'));
  if (!ok) console.log(`  worst: ${JSON.stringify(where)}`);
  console.log(JSON.stringify({ model: opts.onnx, golden: opts.golden, n, max_abs_diff: maxDiff, tol, exact_fraction: exactFrac, pass: ok }));
  return ok ? 0 : 1;
}

async function bench(ort, opts) {
  const s = await openSession(ort, opts);
  const x = makeInput(compileFormula('x[i][h][w][c] = 1.5*sin(0.37*h + 0.23*w + 1.1*c + 0.7*i)'), 0, s.C, s.H, s.W);
  const feeds = feedsFor(ort, s, x);
  for (let i = 0; i < opts.warmup; ++i) await run(s, feeds);
  const times = [];
  for (let i = 0; i < opts.runs; ++i) {
    const t0 = process.hrtime.bigint();
    await run(s, feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  console.log(JSON.stringify({
    model: opts.onnx, runtime: `onnxruntime-node ${ort.env?.versions?.common ?? ''}`.trim(), threads: opts.threads,
    runs: opts.runs, median_ms: median, min_ms: times[0], p90_ms: q(0.9),
  }));
  return 0;
}

const opts = parseArgs(process.argv.slice(2));
const ort = await loadOrt();
try {
  process.exitCode = opts.bench ? await bench(ort, opts) : await parity(ort, opts);
} catch (e) {
  die(e.message);
}
