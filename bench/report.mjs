#!/usr/bin/env node
// The benchmark report in one command: runs the native peer comparison
// (bench/compare.mjs), the browser one (bench/compare-browser.mjs) and the
// scaling runs (bench/scaling.mjs), each with --json, then writes
//   - an HTML report (tables + charts as inline SVG generated here: no library,
//     no script, nothing fetched), default bench/report.html;
//   - this CPU family's generated section of bench/RESULTS.md (between the
//     markers below, which carry the CPU's name, family and model): machine,
//     SIMD target, date, load, git commit, the exact commands and the tables.
//     A run replaces its own CPU family's section and leaves the others; a CPU
//     family not measured before gets a new section at the end.
// The tools run one after another (never in parallel), so each sees only the
// machine's own load; `uptime`'s load average is recorded before and after each.
//
//   node bench/report.mjs [--build build] [--wasm-build build-wasm] [--out bench/report.html]
//        [--results bench/RESULTS.md | --no-results] [--skip native,browser,scaling] [--quick]
//        [--rounds R] [--runs N]
// --quick: one round of a few runs on one model (the ctest smoke; figures meaningless).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dieWith, parseOptions } from './options.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// One section per CPU family: the markers carry its key (cpuKey).
const BEGIN = (key) => `<!-- bench/report.mjs: begin ${key} (generated; edit outside these markers) -->`;
const END = (key) => `<!-- bench/report.mjs: end ${key} -->`;
const cpuKey = (m) => `${m.cpu}, family ${m.cpu_family} model ${m.cpu_model}`;

const die = dieWith('report');

function parseArgs(argv) {
  const o = parseOptions('report', {
    build: { kind: 'path', default: path.join(ROOT, 'build') },
    'wasm-build': { kind: 'path', default: path.join(ROOT, 'build-wasm') },
    out: { kind: 'path', default: path.join(ROOT, 'bench', 'report.html') },
    results: { kind: 'path', default: path.join(ROOT, 'bench', 'RESULTS.md') },
    'no-results': { kind: 'flag', default: false },
    skip: { kind: 'strings', default: [] },
    quick: { kind: 'flag', default: false },
    rounds: { kind: 'int', default: null },
    runs: { kind: 'int', default: null },
  }, 'node bench/report.mjs [--build DIR] [--wasm-build DIR] [--out report.html] ' +
     '[--results RESULTS.md | --no-results] [--skip native,browser,scaling] [--quick] [--rounds R] [--runs N]', argv);
  for (const s of o.skip)
    if (!['native', 'browser', 'scaling'].includes(s)) die(`--skip takes native, browser, scaling; got '${s}'`);
  o.skip = new Set(o.skip);
  if (o.noResults) o.results = null;
  return o;
}

const rel = (p) => (path.relative(ROOT, p).startsWith('..') ? p : path.relative(ROOT, p));
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** Runs a bench tool with --json; returns {command, json, load_before, load_after, seconds}. */
function runTool(script, args) {
  const argv = [path.join('bench', script), ...args, '--json'];
  const command = `node ${argv.map((a) => (/[\s]/.test(a) ? `'${a}'` : a)).join(' ')}`;
  console.error(`report: ${command}`);
  const before = loadavg();
  const t0 = Date.now();
  const out = execFileSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20,
                                                     stdio: ['ignore', 'pipe', 'inherit'] });
  return { command, json: JSON.parse(out.trim().split('\n').pop()), load_before: before, load_after: loadavg(),
           seconds: (Date.now() - t0) / 1000 };
}

// The source folder a CMake build was configured from (its CMakeCache.txt), or null.
function buildSource(dir) {
  const cache = path.join(dir, 'CMakeCache.txt');
  if (!fs.existsSync(cache)) return null;
  return /^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$/m.exec(fs.readFileSync(cache, 'utf8'))?.[1] ?? null;
}

// What the SIMD family runs here, from the native CLI (`faceattr bench --json`'s "machine").
function simdTarget(build) {
  try {
    const out = execFileSync(path.join(build, 'bin', 'faceattr'),
                             ['bench', '--no-localize', '--runs', '1', '--warmup', '0', '--json'],
                             { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const simd = JSON.parse(out.trim().split('\n').pop()).machine?.simd;
    return simd ? `${simd.target}, ${simd.vector_bits}-bit; int8 ${simd.int8}` : '?';
  } catch {
    return '?';
  }
}

function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (k) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim();
  const flags = new Set((field('flags') || '').split(/\s+/));
  const isa = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'asimd', 'asimddp', 'sve'].filter((f) => flags.has(f));
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch { /* not a git checkout */ }
  return { cpu: field('model name') || os.cpus()[0]?.model, cpu_family: field('cpu family'), cpu_model: field('model'),
           isa: isa.join(', ') || 'none of avx2/fma/avx512', cores: os.cpus().length,
           memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)), os: `${os.type()} ${os.release()}`,
           node: process.version, commit };
}

// ---------- SVG charts (no dependency) ----------
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

// Legend items side by side (about 6.5 px per character at 11 px); returns {svg, end}.
function legend(series, x, y) {
  let svg = '';
  series.forEach((s, i) => {
    svg += `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>` +
      `<text x="${x + 14}" y="${y}" font-size="11">${esc(s)}</text>`;
    x += 14 + Math.ceil(String(s).length * 6.5) + 16;
  });
  return { svg, end: x };
}

/** Grouped vertical bars: groups [{label, values: {series: number|null}}]. */
function barChart({ title, unit, series, groups, minGroupWidth = 40 }) {
  const gw = Math.max(minGroupWidth, series.length * 16 + 18), left = 56, top = 40, h = 200;
  const leg = legend(series, left, 32);
  const width = Math.max(420, left + groups.length * gw + 20, leg.end, left + title.length * 8);
  const max = niceMax(Math.max(...groups.flatMap((g) => series.map((s) => g.values[s] ?? 0))));
  const y = (v) => top + h - (v / max) * h;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + h + 70}" role="img" aria-label="${esc(title)}">` +
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>${leg.svg}`;
  for (let t = 0; t <= 4; ++t) {
    const v = (max * t) / 4;
    svg += `<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>` +
      `<text x="${left - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`;
  }
  svg += `<text x="12" y="${top + h / 2}" font-size="10" transform="rotate(-90 12 ${top + h / 2})" text-anchor="middle">${esc(unit)}</text>`;
  groups.forEach((g, gi) => {
    const x0 = left + gi * gw + 9;
    series.forEach((s, si) => {
      const v = g.values[s];
      if (v == null) return;
      svg += `<rect x="${x0 + si * 16}" y="${y(v)}" width="14" height="${top + h - y(v)}" fill="${COLORS[si % COLORS.length]}">` +
        `<title>${esc(`${g.label} ${s}: ${fmt(v)} ${unit}`)}</title></rect>`;
    });
    const lines = String(g.label).split('\n');
    lines.forEach((l, li) => {
      svg += `<text x="${x0 + (series.length * 16) / 2}" y="${top + h + 14 + li * 12}" font-size="10" text-anchor="middle">${esc(l)}</text>`;
    });
  });
  return `${svg}</svg>`;
}

/** Lines: series [{name, points: [[x, y]]}], x labels from xTicks [[x, label]]. */
function lineChart({ title, xLabel, unit, series, xTicks }) {
  const left = 56, top = 40, w = 420, h = 200;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  const max = niceMax(Math.max(...series.flatMap((s) => s.points.map((p) => p[1]))));
  const x = (v) => left + (xmax === xmin ? w / 2 : ((v - xmin) / (xmax - xmin)) * w);
  const y = (v) => top + h - (v / max) * h;
  const leg = legend(series.map((s) => s.name), left, 32);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(left + w + 30, leg.end)}" height="${top + h + 50}" ` +
    `role="img" aria-label="${esc(title)}"><text x="${left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>${leg.svg}`;
  for (let t = 0; t <= 4; ++t) {
    const v = (max * t) / 4;
    svg += `<line x1="${left}" x2="${left + w}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>` +
      `<text x="${left - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`;
  }
  for (const [tx, label] of xTicks) {
    svg += `<text x="${x(tx)}" y="${top + h + 14}" font-size="10" text-anchor="middle">${esc(label)}</text>`;
  }
  svg += `<text x="${left + w / 2}" y="${top + h + 32}" font-size="10" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text x="12" y="${top + h / 2}" font-size="10" transform="rotate(-90 12 ${top + h / 2})" text-anchor="middle">${esc(unit)}</text>`;
  series.forEach((s, si) => {
    const c = COLORS[si % COLORS.length];
    svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => `${x(p[0])},${y(p[1])}`).join(' ')}"/>`;
    for (const p of s.points) {
      svg += `<circle cx="${x(p[0])}" cy="${y(p[1])}" r="3" fill="${c}"><title>${esc(`${s.name}: ${fmt(p[1])} ${unit}`)}</title></circle>`;
    }
  });
  return `${svg}</svg>`;
}

// ---------- tables (shared by HTML and Markdown) ----------
const ms = (v) => (v == null ? '-' : v.toFixed(3));
const kib = (b) => (b == null || b < 0 ? 'n/a' : `${(b / 1024).toFixed(1)} KiB`);
const ratio = (v) => (v == null ? '-' : `${v.toFixed(2)}x`);

function nativeTable(j) {
  const backends = [...new Set(j.rows.map((r) => r.backend))];
  const keys = [...new Set(j.rows.map((r) => `${r.model}|${r.threads}`))];
  const head = ['model', 'threads', ...backends.map((b) => `faceattr ${b} ms`), 'ORT ms', 'ORT / best faceattr'];
  const body = keys.map((k) => {
    const rs = j.rows.filter((r) => `${r.model}|${r.threads}` === k);
    const best = Math.min(...rs.map((r) => r.faceattr_ms));
    return [rs[0].model, rs[0].threads, ...backends.map((b) => ms(rs.find((r) => r.backend === b)?.faceattr_ms)),
            ms(rs[0].ort_ms), ratio(rs[0].ort_ms / best)];
  });
  return { head, body };
}

function browserTable(j) {
  return {
    head: ['model', 'threads', 'faceattr flavour', 'faceattr call ms', 'faceattr net ms', 'ORT-web ms', 'ORT / faceattr call',
           'ORT / faceattr net', 'outputs max abs diff'],
    body: j.rows.map((r) => [r.model, r.threads, r.flavour, ms(r.faceattr_ms), ms(r.faceattr_net_ms), ms(r.ort_ms),
                             ratio(r.ratio), ratio(r.ratio_net), r.max_abs_diff == null ? '-' : r.max_abs_diff.toExponential(1)]),
  };
}

function bundleTable(j) {
  return { head: ['bundle', 'files', 'raw', 'gzip -9'],
           body: j.bundles.map((b) => [b.name, b.files.map((f) => f.name ?? path.basename(f.file)).join(', '), kib(b.bytes), kib(b.gzip)]) };
}

function modelSizeTable(j) {
  return { head: ['model', '.fam', '.fam gzip', '.onnx', '.onnx gzip'],
           body: j.models.map((m) => [m.model, kib(m.fam_bytes), kib(m.fam_gzip), kib(m.onnx_bytes), kib(m.onnx_gzip)]) };
}

function scalingTables(j) {
  const cols = (r) => [r.found, ms(r.total_ms), ms(r.preprocess_ms), ms(r.lnet_ms), ms(r.anet_ms)];
  return {
    size: { head: ['frame', 'LNet', 'faces found', 'total ms', 'preprocess ms', 'LNet ms', 'ANet ms'],
            body: j.rows.filter((r) => r.sweep === 'size').map((r) => [r.size, r.lnet ? 'yes' : 'no', ...cols(r)]) },
    faces: { head: ['faces pasted', 'faces found', 'total ms', 'preprocess ms', 'LNet ms', 'ANet ms'],
             body: j.rows.filter((r) => r.sweep === 'faces').map((r) => [r.pasted, ...cols(r)]) },
    memory: { head: ['models', 'backend', 'model files', 'session heap', 'RSS growth', 'process peak RSS'],
              body: j.memory.map((m) => [m.models, m.backend, kib(m.model_bytes), kib(m.session_heap_bytes),
                                         kib(m.rss_delta_bytes), kib(m.peak_rss_bytes)]) },
  };
}

const htmlTable = ({ head, body }) => `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
  body.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
const mdTable = ({ head, body }) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`,
  ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');

// ---------- charts per section ----------
function nativeChart(j) {
  const backends = [...new Set(j.rows.map((r) => r.backend))];
  const keys = [...new Set(j.rows.map((r) => `${r.model}|${r.threads}`))];
  const series = [...backends.map((b) => `faceattr ${b}`), 'ONNX Runtime'];
  return barChart({ title: 'Native: network latency (median ms, lower is better)', unit: 'ms', series,
    groups: keys.map((k) => {
      const rs = j.rows.filter((r) => `${r.model}|${r.threads}` === k);
      const values = { 'ONNX Runtime': rs[0].ort_ms };
      for (const r of rs) values[`faceattr ${r.backend}`] = r.faceattr_ms;
      return { label: `${rs[0].model}\n${rs[0].threads}T`, values };
    }) });
}

function browserChart(j) {
  const keys = [...new Set(j.rows.map((r) => `${r.model}|${r.threads}`))];
  const series = ['faceattr-simd', 'faceattr-simd-threads', 'onnxruntime-web'];
  return barChart({ title: 'Chromium: network call latency (median ms, lower is better)', unit: 'ms', series,
    groups: keys.map((k) => {
      const rs = j.rows.filter((r) => `${r.model}|${r.threads}` === k);
      const values = { 'onnxruntime-web': rs[0].ort_ms };
      for (const r of rs) values[r.flavour] = r.faceattr_ms;
      return { label: `${rs[0].model}\n${rs[0].threads}T`, values };
    }) });
}

function bundleChart(j) {
  return barChart({ title: 'Bundle a user ships (.wasm + JS), KiB', unit: 'KiB', series: ['raw', 'gzip -9'], minGroupWidth: 140,
    groups: j.bundles.map((b) => ({ label: b.name.split(' ')[0], values: { raw: b.bytes / 1024, 'gzip -9': b.gzip / 1024 } })) });
}

function scalingCharts(j) {
  const size = j.rows.filter((r) => r.sweep === 'size');
  // Frame sizes as categories, in the order run (pixels grow 4x per step: a linear axis crowds the small ones).
  const sizes = [...new Set(size.map((r) => r.size))];
  const px = (s) => sizes.indexOf(s);
  const sizeTicks = sizes.map((s) => [px(s), s]);
  const faces = j.rows.filter((r) => r.sweep === 'faces');
  return [
    lineChart({ title: 'Latency vs frame size (median ms)', xLabel: 'frame (W x H)', unit: 'ms', xTicks: sizeTicks,
      series: [{ name: 'no LNet (whole frame = face)', points: size.filter((r) => !r.lnet).map((r) => [px(r.size), r.total_ms]) },
               { name: 'LNet + 1 face', points: size.filter((r) => r.lnet).map((r) => [px(r.size), r.total_ms]) }] }),
    lineChart({ title: `Latency vs faces in a ${faces[0]?.size ?? ''} frame (median ms)`, xLabel: 'faces pasted', unit: 'ms',
      xTicks: faces.map((r) => [r.pasted, String(r.pasted)]),
      series: [{ name: 'total', points: faces.map((r) => [r.pasted, r.total_ms]) },
               { name: 'ANet (sum)', points: faces.map((r) => [r.pasted, r.anet_ms]) },
               { name: 'preprocess', points: faces.map((r) => [r.pasted, r.preprocess_ms]) },
               { name: 'LNet', points: faces.map((r) => [r.pasted, r.lnet_ms]) }] }),
    barChart({ title: 'Memory per session, KiB', unit: 'KiB', series: ['model files', 'session heap', 'RSS growth'],
      groups: j.memory.map((m) => ({ label: m.models.replace(' + ', '+\n'),
                                     values: { 'model files': m.model_bytes / 1024, 'session heap': m.session_heap_bytes / 1024,
                                               'RSS growth': m.rss_delta_bytes / 1024 } })) }),
  ];
}

// ---------- outputs ----------
function html(r) {
  const m = r.machine;
  const sec = (title, run, body, note) => `<section><h2>${esc(title)}</h2>` +
    `<p class="cmd"><code>${esc(run.command)}</code><br>load average ${esc(run.load_before)} before, ${esc(run.load_after)} after; ` +
    `${run.seconds.toFixed(0)} s</p>${note ? `<p>${note}</p>` : ''}${body}</section>`;
  let body = '';
  if (r.native) {
    const j = r.native.json;
    body += sec('faceattr vs ONNX Runtime, native', r.native, nativeChart(j) + htmlTable(nativeTable(j)),
      `onnxruntime-node ${esc(j.onnxruntime ?? '?')}; ${j.rounds} interleaved rounds x ${j.runs} runs; medians of round medians. ` +
      'faceattr: the SDK\'s network stage timer; ORT: session.run (binding overhead included).');
  }
  if (r.browser) {
    const j = r.browser.json;
    body += sec('faceattr wasm vs onnxruntime-web, headless Chromium', r.browser,
      browserChart(j) + htmlTable(browserTable(j)) + bundleChart(j) + htmlTable(bundleTable(j)) + htmlTable(modelSizeTable(j)),
      `${esc(j.browser)}, onnxruntime-web ${esc(j.onnxruntime_web)} (wasm EP); ${j.rounds} interleaved rounds x ${j.runs} runs. ` +
      'Same page, same performance.now() around the network call: faceattr call = Engine.predictFrame on an input of the ' +
      'network\'s own size (includes the SDK\'s copy + normalise); faceattr net = the SDK\'s stage timer; ORT = await session.run.');
  }
  if (r.scaling) {
    const j = r.scaling.json;
    const t = scalingTables(j);
    const [c1, c2, c3] = scalingCharts(j);
    body += sec('Scaling (native)', r.scaling, c1 + htmlTable(t.size) + c2 + htmlTable(t.faces) + c3 + htmlTable(t.memory),
      `backend ${esc(j.backend)} -> ${esc(j.rows[0]?.backend ?? '?')}, ${j.threads} thread(s), ${j.rounds} interleaved rounds x ` +
      `${j.runs} runs; models ${esc(j.anet)} + ${esc(j.lnet)}.`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faceattr benchmarks</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.cmd{color:#444}svg{display:block;margin:1em 0}</style></head><body>
<h1>faceattr benchmarks</h1>
<p>${esc(r.date)} · ${esc(m.cpu)} (${esc(m.isa)}), ${m.cores} cores, ${m.memory_gib} GiB · ${esc(m.os)} · node ${esc(m.node)} ·
commit ${esc(m.commit ?? '?')} · builds: ${esc(r.builds.join('; '))}${r.quick ? ' · <b>--quick run: figures are not meaningful</b>' : ''}</p>
<p>Generated by <code>${esc(r.command)}</code>. A shared VM: compare ratios within one run, not absolute times across runs.</p>
${body}</body></html>
`;
}

function markdown(r) {
  const m = r.machine;
  const out = [BEGIN(cpuKey(m)), `## ${cpuKey(m)}: \`${r.command}\``, '',
    `- Date: ${r.date}${r.quick ? ' (**--quick: figures not meaningful**)' : ''}`,
    `- Machine: ${m.cpu} (family ${m.cpu_family} model ${m.cpu_model}; ${m.isa}), ${m.cores} vCPUs, ${m.memory_gib} GiB; ${m.os}; node ${m.node}`,
    `- SIMD family: Highway ${m.simd}`,
    `- Commit: ${m.commit ?? '?'}`, `- Builds: ${r.builds.join('; ')}`, `- Report: \`${rel(r.out)}\``, ''];
  const sect = (title, run, tables, note) => {
    out.push(`### ${title}`, '', '```sh', run.command, '```', '',
             `Load average ${run.load_before} before, ${run.load_after} after (${run.seconds.toFixed(0)} s). ${note}`, '');
    for (const t of tables) out.push(mdTable(t), '');
  };
  if (r.native) {
    const j = r.native.json;
    sect('Native: faceattr vs ONNX Runtime', r.native, [nativeTable(j)],
         `onnxruntime-node ${j.onnxruntime ?? '?'}, ${j.rounds} rounds x ${j.runs} runs.`);
  }
  if (r.browser) {
    const j = r.browser.json;
    sect('Browser: faceattr wasm vs onnxruntime-web', r.browser, [browserTable(j), bundleTable(j), modelSizeTable(j)],
         `${j.browser}, onnxruntime-web ${j.onnxruntime_web} (wasm EP), ${j.rounds} rounds x ${j.runs} runs. ` +
         '"call" = performance.now() around the engine call on an input of the network\'s size; "net" = the SDK\'s stage timer.');
  }
  if (r.scaling) {
    const j = r.scaling.json;
    const t = scalingTables(j);
    sect('Scaling (native)', r.scaling, [t.size, t.faces, t.memory],
         `Backend ${j.backend} -> ${j.rows[0]?.backend ?? '?'}, ${j.threads} thread(s), ${j.rounds} rounds x ${j.runs} runs.`);
  }
  out.push(END(cpuKey(m)));
  return out.join('\n');
}

// Replaces the section of CPU family `key` (or appends one).
function updateResults(file, key, section) {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const a = old.indexOf(BEGIN(key)), b = old.indexOf(END(key));
  const text = a >= 0 && b > a ? old.slice(0, a) + section + old.slice(b + END(key).length)
                               : `${old.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, text);
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const tune = [];
  if (o.quick) tune.push('--rounds', '1', '--runs', '2');
  else {
    if (o.rounds) tune.push('--rounds', String(o.rounds));
    if (o.runs) tune.push('--runs', String(o.runs));
  }
  const quickModels = ['--models', path.join('models', 'anet-int8.fam')];
  const builds = [['native', o.build], ['wasm', o.wasmBuild]].map(([k, d]) => {
    const src = buildSource(d);
    return `${k} ${rel(d)} (from ${src ? (path.resolve(src) === ROOT ? 'this checkout' : src) : 'unknown source'})`;
  });
  const r = { date: new Date().toISOString(), machine: { ...machine(), simd: simdTarget(o.build) }, builds,
              quick: o.quick, out: o.out,
              command: `node bench/report.mjs ${process.argv.slice(2).join(' ')}`.trim() };
  if (!o.skip.has('native')) {
    r.native = runTool('compare.mjs', ['--build', rel(o.build), ...tune, ...(o.quick ? [...quickModels, '--threads', '1'] : [])]);
  }
  if (!o.skip.has('browser')) {
    r.browser = runTool('compare-browser.mjs', ['--wasm-build', rel(o.wasmBuild), '--build', rel(o.build), ...tune,
                                                 ...(o.quick ? [...quickModels, '--warmup', '1'] : [])]);
  }
  if (!o.skip.has('scaling')) {
    r.scaling = runTool('scaling.mjs', ['--build', rel(o.build), ...tune,
                                        ...(o.quick ? ['--sizes', '160x120,320x240', '--faces', '1,2', '--warmup', '1'] : [])]);
  }
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, html(r));
  const counts = ['native', 'browser', 'scaling'].filter((k) => r[k]).map((k) => `${k} ${r[k].json.rows.length} rows`);
  console.log(`report: wrote ${o.out} (${counts.join(', ')})`);
  if (o.results) {
    updateResults(o.results, cpuKey(r.machine), markdown(r));
    console.log(`report: updated ${o.results}`);
  }
}

try {
  main();
} catch (e) {
  die(e.message);
}
