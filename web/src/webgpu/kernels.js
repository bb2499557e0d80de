// WGSL compute kernels for the ops of a faceattr model graph (sdk/schema/faceattr_model.fbs),
// generated per node with the node's shapes and quantisation baked in as constants.
//
// Numbers on the GPU are f32 throughout. An f32 tensor holds its real values; an
// int8 tensor holds its quantised integers q (as whole-valued f32), so an int8 graph
// runs the SDK's integer arithmetic (sdk/src/kernels/reference/) in f32: conv / fc
// accumulate (x_q - x_zp) * w_q on top of the int32 bias, scale by the per-channel
// multiplier in_scale * w_scale[oc] / out_scale (the int8 weights are dequantised by
// that factor in the shader) and requantise with round-half-away-from-zero, the zero
// point and the activation's clamp, as the CPU does. The sums are exact while they
// stay below 2^24 in magnitude.
//
// Every kernel reads `u.x` (the batch) from binding 0 and runs one invocation per
// output element (or per 4 channels of one pixel), 64 per workgroup, over a 2-D grid
// of workgroups: index = gid.x + gid.y * num_workgroups.x * 64.

export const WORKGROUP = 64;

/** A WGSL f32 literal of the f32 value `v` (exact: JS prints the shortest double that reads back). */
export function lit(v) {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) throw new Error(`non-finite constant ${v}`);
  const s = String(f);
  return `f32(${/[.e]/.test(s) ? s : `${s}.0`})`;
}

const HEADER = `
@group(0) @binding(0) var<uniform> u: vec4<u32>;
fn rha(x: f32) -> f32 { let t = trunc(x); return select(t, t + sign(x), abs(x - t) >= 0.5); }
fn rha4(x: vec4<f32>) -> vec4<f32> { let t = trunc(x); return select(t, t + sign(x), abs(x - t) >= vec4<f32>(0.5)); }
`;

function main(perItem, body) {
  return `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (idx >= u.x * ${perItem}u) { return; }
${body}
}`;
}

// Activation of f32 values (vec4 or scalar expression `v`).
function actF32(act, alpha, v, vec) {
  const z = vec ? 'vec4<f32>(0.0)' : '0.0';
  switch (act) {
    case 'none': return v;
    case 'relu': return `max(${v}, ${z})`;
    case 'relu6': return `clamp(${v}, ${z}, ${vec ? 'vec4<f32>(6.0)' : '6.0'})`;
    case 'leaky_relu': return `select(${v}, ${v} * ${lit(alpha)}, ${v} < ${z})`;
    default: throw new Error(`unknown activation ${act}`);
  }
}

/** Output range of an int8 op with a fused activation (kernels_common.cpp act_qrange). */
export function qrange(act, scale, zp) {
  let lo = -128, hi = 127;
  if (act === 'relu' || act === 'relu6') {
    lo = zp;
    if (act === 'relu6') {
      const six = roundHalfAway(Math.fround(6 / scale)) + zp;
      hi = six >= 127 ? 127 : six;
    }
  }
  lo = Math.max(-128, Math.min(127, lo));
  if (hi < lo) hi = lo;
  return [lo, hi];
}

export function roundHalfAway(x) {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

// WGSL function `rq(s)` (and `rq4`): a value in output steps -> requantised integer (kernel_util.h requantize_scaled).
function requantFns(act, alpha, zp, lo, hi) {
  const leaky = act === 'leaky_relu';
  return `
fn rq(s0: f32) -> f32 {
  var s = s0;
  ${leaky ? `if (s < 0.0) { s = s * ${lit(alpha)}; }` : ''}
  var r = rha(s) + ${lit(zp)};
  if (!(r >= ${lit(lo)})) { r = ${lit(lo)}; }
  return min(r, ${lit(hi)});
}
fn rq4(s0: vec4<f32>) -> vec4<f32> {
  var s = s0;
  ${leaky ? `s = select(s, s * ${lit(alpha)}, s < vec4<f32>(0.0));` : ''}
  let r = rha4(s) + vec4<f32>(${lit(zp)});
  return min(select(vec4<f32>(${lit(lo)}), r, r >= vec4<f32>(${lit(lo)})), vec4<f32>(${lit(hi)}));
}`;
}

const q = (t) => ({ scale: t.scales.length ? t.scales[0] : 1, zp: t.zeroPoints.length ? t.zeroPoints[0] : 0 });
const perItem = (t) => t.shape.reduce((a, b) => a * b, 1) / t.shape[0];

/**
 * Conv2d / FullyConnected. Returns {code, threads (per batch item), weights: Float32Array,
 * params: Float32Array ([bias[oc]] f32, or [bias[oc], multiplier[oc]] for int8)} with the
 * weights laid out for the variant:
 *   dense      groups 1: HWIO (4 output channels per invocation when out_c % 4 == 0)
 *   depthwise  groups = in_c = out_c, c % 4 == 0: HWC, 4 channels per invocation
 *   grouped    anything else: OHWI as in the file, one output per invocation
 */
export function convKernel(node, tensors, post = []) {
  const x = tensors[node.inputs[0]], wt = tensors[node.inputs[1]], y = tensors[node.output];
  const bias = node.inputs.length > 2 && node.inputs[2] >= 0 ? tensors[node.inputs[2]] : null;
  const fc = node.op === 'FullyConnected';
  const c = fc
    ? { IH: 1, IW: 1, IC: perItem(x), OH: 1, OW: 1, OC: wt.shape[0], KH: 1, KW: 1, SH: 1, SW: 1, PT: 0, PL: 0, G: 1 }
    : { IH: x.shape[1], IW: x.shape[2], IC: x.shape[3], OH: y.shape[1], OW: y.shape[2], OC: y.shape[3],
        KH: node.kernelH, KW: node.kernelW, SH: node.strideH, SW: node.strideW, PT: node.padTop, PL: node.padLeft,
        G: node.groups };
  const int8 = x.dtype === 'i8';
  const icg = c.IC / c.G, ocg = c.OC / c.G;
  // Weights as f32: real values (f32 model) or the int8 integers (int8 model).
  const wsrc = int8 ? new Int8Array(wt.data.buffer, wt.data.byteOffset, wt.data.byteLength)
                    : new Float32Array(wt.data.buffer, wt.data.byteOffset, wt.data.byteLength / 4);
  const params = new Float32Array(int8 ? 2 * c.OC : c.OC);
  if (bias) {
    const b = int8 ? new Int32Array(bias.data.buffer, bias.data.byteOffset, c.OC)
                   : new Float32Array(bias.data.buffer, bias.data.byteOffset, c.OC);
    for (let o = 0; o < c.OC; ++o) params[o] = b[o];  // an int32 bias to f32: as the CPU's float(acc)
  }
  let epi4, epi1, fns = '';
  if (int8) {
    const xq = q(x), yq = q(y);
    for (let o = 0; o < c.OC; ++o) {
      const ws = wt.scales.length === c.OC ? wt.scales[o] : wt.scales[0];
      params[c.OC + o] = Math.fround(Math.fround(xq.scale * ws) / yq.scale);
    }
    const [lo, hi] = qrange(node.act, yq.scale, yq.zp);
    fns = requantFns(node.act, node.leakyAlpha, yq.zp, lo, hi);
    epi4 = (acc, m) => `rq4(${acc} * ${m})`;
    epi1 = (acc, m) => `rq(${acc} * ${m})`;
  } else {
    epi4 = (acc) => actF32(node.act, node.leakyAlpha, acc, true);
    epi1 = (acc) => actF32(node.act, node.leakyAlpha, acc, false);
  }
  if (post.length) {
    const [e4, e1] = [epi4, epi1];
    epi4 = (acc, m) => post.reduce((e, u) => unaryExpr(u, tensors, e, true), e4(acc, m));
    epi1 = (acc, m) => post.reduce((e, u) => unaryExpr(u, tensors, e, false), e1(acc, m));
  }
  const izp = int8 ? q(x).zp : 0;
  const sub = (e, vec) => (int8 && izp !== 0 ? `(${e} - ${vec ? `vec4<f32>(${lit(izp)})` : lit(izp)})` : e);
  const U = (n) => `${n}u`;
  const loops = (inner) => `
  for (var ky = 0u; ky < ${U(c.KH)}; ky++) {
    let iy = i32(oy * ${U(c.SH)} + ky) - ${c.PT};
    if (iy < 0 || iy >= ${c.IH}) { continue; }
    for (var kx = 0u; kx < ${U(c.KW)}; kx++) {
      let ix = i32(ox * ${U(c.SW)} + kx) - ${c.PL};
      if (ix < 0 || ix >= ${c.IW}) { continue; }
      let pix = (b * ${U(c.IH)} + u32(iy)) * ${U(c.IW)} + u32(ix);
${inner}
    }
  }`;
  // Dense and depthwise: each invocation computes PX neighbouring output pixels of a
  // row (x, x+1, ...) for 4 output channels (or 1), so every weight load serves PX
  // pixels. Out-of-image taps contribute nothing (select), as the CPU's skipped taps.
  const PX = Math.min(4, c.OW);
  const owt = Math.ceil(c.OW / PX);
  const P = [...Array(PX).keys()];
  const tiled = (ocq, T, body, store) => `
  let ocb = idx % ${U(ocq)};
  var r = idx / ${U(ocq)};
  let oxt = r % ${U(owt)}; r = r / ${U(owt)};
  let oy = r % ${U(c.OH)};
  let b = r / ${U(c.OH)};
  let ox0 = oxt * ${U(PX)};
  ${P.map((k) => `var acc${k}: ${T} = p[ocb];`).join(' ')}
  for (var ky = 0u; ky < ${U(c.KH)}; ky++) {
    let iy = i32(oy * ${U(c.SH)} + ky) - ${c.PT};
    if (iy < 0 || iy >= ${c.IH}) { continue; }
    let row = (b * ${U(c.IH)} + u32(iy)) * ${U(c.IW)};
    for (var kx = 0u; kx < ${U(c.KW)}; kx++) {
${P.map((k) => `      let ix${k} = i32((ox0 + ${k}u) * ${U(c.SW)} + kx) - ${c.PL};
      let in${k} = ix${k} >= 0 && ix${k} < ${c.IW};
      let pix${k} = row + u32(clamp(ix${k}, 0, ${c.IW - 1}));`).join('\n')}
${body}
    }
  }
${P.map((k) => `  if (ox0 + ${k}u < ${U(c.OW)}) { y[((b * ${U(c.OH)} + oy) * ${U(c.OW)} + ox0 + ${k}u) * ${U(ocq)} + ocb] = ${store(`acc${k}`)}; }`).join('\n')}`;
  let variant, weights, code, threads;
  if (c.G === 1) {
    variant = 'dense';
    const ocb = c.OC % 4 === 0 ? 4 : 1;
    const ocq = c.OC / ocb;
    // HWIO: weights[((ky * KW + kx) * IC + ic) * OC + oc]
    weights = new Float32Array(c.KH * c.KW * c.IC * c.OC);
    for (let o = 0; o < c.OC; ++o)
      for (let ky = 0; ky < c.KH; ++ky)
        for (let kx = 0; kx < c.KW; ++kx)
          for (let i = 0; i < c.IC; ++i)
            weights[((ky * c.KW + kx) * c.IC + i) * c.OC + o] = wsrc[((o * c.KH + ky) * c.KW + kx) * c.IC + i];
    const vec = ocb === 4;
    const T = vec ? 'vec4<f32>' : 'f32';
    const xvec = c.IC % 4 === 0;
    const body = xvec ? `
      let wb = (ky * ${U(c.KW)} + kx) * ${U(c.IC * ocq)} + ocb;
      for (var i4 = 0u; i4 < ${U(c.IC / 4)}; i4++) {
        let wi = wb + i4 * ${U(4 * ocq)};
        let w0 = w[wi]; let w1 = w[wi + ${U(ocq)}]; let w2 = w[wi + ${U(2 * ocq)}]; let w3 = w[wi + ${U(3 * ocq)}];
${P.map((k) => `        let x${k} = select(vec4<f32>(0.0), ${sub(`x[pix${k} * ${U(c.IC / 4)} + i4]`, true)}, in${k});
        acc${k} += x${k}.x * w0 + x${k}.y * w1 + x${k}.z * w2 + x${k}.w * w3;`).join('\n')}
      }` : `
      let wb = (ky * ${U(c.KW)} + kx) * ${U(c.IC * ocq)} + ocb;
      for (var i = 0u; i < ${U(c.IC)}; i++) {
        let wv = w[wb + i * ${U(ocq)}];
${P.map((k) => `        acc${k} += select(0.0, ${sub(`x[pix${k} * ${U(c.IC)} + i]`, false)}, in${k}) * wv;`).join('\n')}
      }`;
    code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x: array<${xvec ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(2) var<storage, read> w: array<${T}>;
@group(0) @binding(3) var<storage, read> p: array<${T}>;
@group(0) @binding(4) var<storage, read_write> y: array<${T}>;
${main(c.OH * owt * ocq, tiled(ocq, T, body, (a) => (vec ? epi4 : epi1)(a, `p[${U(ocq)} + ocb]`)))}`;
    threads = c.OH * owt * ocq;
  } else if (c.G === c.IC && c.G === c.OC && c.OC % 4 === 0) {
    variant = 'depthwise';
    const cq = c.OC / 4;
    weights = new Float32Array(c.KH * c.KW * c.OC);  // HWC
    for (let o = 0; o < c.OC; ++o)
      for (let k = 0; k < c.KH * c.KW; ++k) weights[k * c.OC + o] = wsrc[o * c.KH * c.KW + k];
    const body = `
      let wv = w[(ky * ${U(c.KW)} + kx) * ${U(cq)} + ocb];
${P.map((k) => `      acc${k} += select(vec4<f32>(0.0), ${sub(`x[pix${k} * ${U(cq)} + ocb]`, true)}, in${k}) * wv;`).join('\n')}`;
    code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> p: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
${main(c.OH * owt * cq, tiled(cq, 'vec4<f32>', body, (a) => epi4(a, `p[${U(cq)} + ocb]`)))}`;
    threads = c.OH * owt * cq;
  } else {
    variant = 'grouped';
    weights = Float32Array.from(wsrc);  // OHWI
    code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${main(c.OH * c.OW * c.OC, `
  let oc = idx % ${U(c.OC)};
  var r = idx / ${U(c.OC)};
  let ox = r % ${U(c.OW)}; r = r / ${U(c.OW)};
  let oy = r % ${U(c.OH)};
  let b = r / ${U(c.OH)};
  let g = oc / ${U(ocg)};
  var acc = p[oc];${loops(`
      let wb = ((oc * ${U(c.KH)} + ky) * ${U(c.KW)} + kx) * ${U(icg)};
      for (var i = 0u; i < ${U(icg)}; i++) {
        acc += ${sub(`x[pix * ${U(c.IC)} + g * ${U(icg)} + i]`, false)} * w[wb + i];
      }`)}
  y[idx] = ${epi1('acc', `p[${U(c.OC)} + oc]`)};`)}`;
    threads = c.OH * c.OW * c.OC;
  }
  const output = post.length ? post[post.length - 1].output : node.output;
  return { code, threads, weights, params, variant, inputs: [node.inputs[0]], output };
}

/** MaxPool2d / AvgPool2d (average over in-bounds elements only). */
export function poolKernel(node, tensors) {
  const x = tensors[node.inputs[0]], y = tensors[node.output];
  const [IH, IW, C] = [x.shape[1], x.shape[2], x.shape[3]];
  const [OH, OW] = [y.shape[1], y.shape[2]];
  const max = node.op === 'MaxPool2d';
  const int8 = x.dtype === 'i8';
  let fns = '', fin;
  if (max) fin = 'm';
  else if (!int8) fin = 's / f32(cnt)';
  else {
    const xq = q(x), yq = q(y);
    fns = requantFns('none', 0, yq.zp, -128, 127);
    // (sum_q - count * zp_in) * in_scale / (out_scale * count), as the CPU.
    fin = `rq((s - f32(cnt) * ${lit(xq.zp)}) * (${lit(xq.scale)} / (${lit(yq.scale)} * f32(cnt))))`;
  }
  const code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${main(OH * OW * C, `
  let c = idx % ${C}u;
  var r = idx / ${C}u;
  let ox = i32(r % ${OW}u); r = r / ${OW}u;
  let oy = i32(r % ${OH}u);
  let b = r / ${OH}u;
  let y0 = oy * ${node.strideH} - ${node.padTop};
  let x0 = ox * ${node.strideW} - ${node.padLeft};
  let ky0 = max(0, -y0); let ky1 = min(${node.kernelH}, ${IH} - y0);
  let kx0 = max(0, -x0); let kx1 = min(${node.kernelW}, ${IW} - x0);
  var m = bitcast<f32>(0xff7fffffu); var s = 0.0; var cnt = 0;
  for (var ky = ky0; ky < ky1; ky++) {
    for (var kx = kx0; kx < kx1; kx++) {
      let v = x[((b * ${IH}u + u32(y0 + ky)) * ${IW}u + u32(x0 + kx)) * ${C}u + c];
      m = max(m, v); s += v; cnt++;
    }
  }
  y[idx] = ${fin};`)}`;
  return { code, threads: OH * OW * C, inputs: [node.inputs[0]] };
}

export function globalAvgPoolKernel(node, tensors) {
  const x = tensors[node.inputs[0]], y = tensors[node.output];
  const [H, W, C] = [x.shape[1], x.shape[2], x.shape[3]];
  const hw = H * W;
  const int8 = x.dtype === 'i8';
  let fns = '', fin = `s / ${lit(hw)}`;
  if (int8) {
    const xq = q(x), yq = q(y);
    fns = requantFns('none', 0, yq.zp, -128, 127);
    const mult = Math.fround(xq.scale / Math.fround(yq.scale * hw));
    fin = `rq((s - ${lit(hw * xq.zp)}) * ${lit(mult)})`;
  }
  const code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${main(C, `
  let c = idx % ${C}u;
  let b = idx / ${C}u;
  var s = 0.0;
  for (var i = 0u; i < ${hw}u; i++) { s += x[(b * ${hw}u + i) * ${C}u + c]; }
  y[idx] = ${fin};`)}`;
  return { code, threads: C, inputs: [node.inputs[0]] };
}

export function addKernel(node, tensors) {
  const a = tensors[node.inputs[0]], bt = tensors[node.inputs[1]], y = tensors[node.output];
  const n = perItem(y);
  let fns = '', expr;
  if (a.dtype === 'i8') {
    const aq = q(a), bq = q(bt), yq = q(y);
    const [lo, hi] = qrange(node.act, yq.scale, yq.zp);
    fns = requantFns(node.act, node.leakyAlpha, yq.zp, lo, hi);
    expr = `rq((x0[idx] - ${lit(aq.zp)}) * ${lit(Math.fround(aq.scale / yq.scale))} + ` +
           `(x1[idx] - ${lit(bq.zp)}) * ${lit(Math.fround(bq.scale / yq.scale))})`;
  } else {
    expr = actF32(node.act, node.leakyAlpha, '(x0[idx] + x1[idx])', false);
  }
  const code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x0: array<f32>;
@group(0) @binding(2) var<storage, read> x1: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${main(n, `  y[idx] = ${expr};`)}`;
  return { code, threads: n, inputs: [node.inputs[0], node.inputs[1]] };
}

/** Sigmoid / Activation / Quantize / Dequantize, elementwise. */
export function unaryKernel(node, tensors) {
  const x = tensors[node.inputs[0]], y = tensors[node.output];
  const n = perItem(y);
  let fns = '', expr;
  const f = (v) => (node.op === 'Sigmoid' ? `(1.0 / (1.0 + exp(-${v})))` : actF32(node.act, node.leakyAlpha, v, false));
  if (node.op === 'Quantize') {
    const yq = q(y);
    fns = requantFns('none', 0, yq.zp, -128, 127);
    expr = `rq(x[idx] / ${lit(yq.scale)})`;
  } else if (node.op === 'Dequantize') {
    const xq = q(x);
    expr = `${lit(xq.scale)} * (x[idx] - ${lit(xq.zp)})`;
  } else if (x.dtype === 'i8') {
    // The CPU's 256-entry table: dequantise, the function, quantise.
    const xq = q(x), yq = q(y);
    fns = requantFns('none', 0, yq.zp, -128, 127);
    expr = `rq(${f('v')} / ${lit(yq.scale)})`;
    return unary(`let v = ${lit(xq.scale)} * (x[idx] - ${lit(xq.zp)});\n  y[idx] = ${expr};`);
  } else {
    expr = f('x[idx]');
  }
  return unary(`y[idx] = ${expr};`);
  function unary(body) {
    const code = `${HEADER}${fns}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${main(n, `  ${body}`)}`;
    return { code, threads: n, inputs: [node.inputs[0]] };
  }
}

/**
 * Unary nodes a conv / fc kernel can apply in its epilogue (its output read by them
 * alone): f32 Sigmoid and Activation, and Dequantize (the int8 graphs' ...fc ->
 * Dequantize -> Sigmoid tail). The same arithmetic as their own kernels.
 */
export function fusableUnary(u, tensors) {
  if (u.op === 'Dequantize') return true;
  return (u.op === 'Sigmoid' || u.op === 'Activation') && tensors[u.inputs[0]].dtype === 'f32';
}

function unaryExpr(u, tensors, e, vec) {
  if (u.op === 'Dequantize') {
    const xq = q(tensors[u.inputs[0]]);
    return `(${lit(xq.scale)} * (${e} - ${lit(xq.zp)}))`;
  }
  if (u.op === 'Sigmoid') return `(1.0 / (1.0 + exp(-${e})))`;
  return actF32(u.act, u.leakyAlpha, `(${e})`, vec);
}

/** Concat along channels: one copy kernel per input into its channel slice of the output. */
export function concatKernels(node, tensors) {
  const y = tensors[node.output];
  if (node.axis !== 3 && node.axis !== -1) throw new Error(`Concat on axis ${node.axis} is not supported`);
  const total = y.shape[3];
  const outer = perItem(y) / total;
  let offset = 0;
  return node.inputs.map((t) => {
    const ch = tensors[t].shape[3];
    const code = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${main(outer * ch, `  let c = idx % ${ch}u;
  let r = idx / ${ch}u;
  y[r * ${total}u + ${offset}u + c] = x[idx];`)}`;
    offset += ch;
    return { code, threads: outer * ch, inputs: [t] };
  });
}

/** The kernels of one node (several for Concat). */
export function nodeKernels(node, tensors, post = []) {
  switch (node.op) {
    case 'Conv2d':
    case 'FullyConnected': return [convKernel(node, tensors, post)];
    case 'MaxPool2d':
    case 'AvgPool2d': return [poolKernel(node, tensors)];
    case 'GlobalAvgPool': return [globalAvgPoolKernel(node, tensors)];
    case 'Add': return [addKernel(node, tensors)];
    case 'Concat': return concatKernels(node, tensors);
    case 'Sigmoid':
    case 'Activation':
    case 'Quantize':
    case 'Dequantize': return [unaryKernel(node, tensors)];
    default: throw new Error(`op ${node.op} has no WebGPU kernel`);
  }
}
