// Page side of tests/web/webgpu.test.mjs (served to the test page at /webgpu-test/).
//
// opParity(): every op of the model format, in the variants the WGSL kernels
// distinguish (dense / depthwise / grouped convolution, 4-channel and scalar
// paths, padding, strides, batches, fused activations, f32 and int8 with
// per-channel weight scales and non-zero zero points), on seeded random data:
// the WebGPU kernel (web/src/webgpu/network.js on a one-node graph, run with a
// batch) against the SDK's reference CPU kernel for the same node
// (tests/web/webgpu_ref.cpp).
import { GpuNetwork } from '/web/src/webgpu/network.js';
import { requestGpuDevice } from '/web/src/webgpu/engine.js';

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NODE = {
  kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0,
  groups: 1, axis: 3, act: 'none', leakyAlpha: 0.1,
};
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const outDim = (i, k, s, p0, p1) => Math.floor((i + p0 + p1 - k) / s) + 1;

// Random tensors. f32: uniform in [-a, a]; i8: uniform integers with the given quantisation.
function makeOps(r) {
  const f32 = (shape, a = 1, constant = false) => ({
    dtype: 'f32', shape, scales: [], zeroPoints: [], constant,
    values: Float32Array.from({ length: count(shape) }, () => (2 * r() - 1) * a),
  });
  const i8 = (shape, scale, zp, constant = false) => ({
    dtype: 'i8', shape, scales: Array.isArray(scale) ? scale : [scale],
    zeroPoints: Array.isArray(scale) ? scale.map(() => 0) : [zp], constant,
    values: Int8Array.from({ length: count(shape) }, () => Math.floor(r() * 256) - 128),
  });
  const out = (dtype, shape, scale = 1, zp = 0) => ({
    dtype, shape, scales: dtype === 'i8' ? [scale] : [], zeroPoints: dtype === 'i8' ? [zp] : [], constant: false, values: null,
  });
  const zp = () => Math.floor(r() * 41) - 20;

  function conv({ B = 2, IH = 9, IW = 7, IC, OC, K = 3, S = 1, pads = [1, 1, 1, 1], G = 1, act = 'none', int8 = false, fc = false }) {
    const OH = fc ? 1 : outDim(IH, K, S, pads[0], pads[2]);
    const OW = fc ? 1 : outDim(IW, K, S, pads[1], pads[3]);
    const icg = IC / G;
    const n = K * K * icg;
    const wshape = fc ? [OC, IC] : [OC, K, K, icg];
    const xshape = fc ? (IC % 2 ? [B, IC] : [B, 1, 1, IC]) : [B, IH, IW, IC];
    const yshape = fc ? [B, OC] : [B, OH, OW, OC];
    let x, w, b, y;
    if (!int8) {
      x = f32(xshape, 1);
      w = f32(wshape, 1 / Math.sqrt(n), true);
      b = f32([OC], 0.5, true);
      y = out('f32', yshape);
    } else {
      const xs = 0.05;
      x = i8(xshape, xs, zp());
      const ws = Array.from({ length: OC }, () => 0.002 + 0.008 * r());
      w = i8(wshape, ws, 0, true);
      for (let i = 0; i < w.values.length; ++i) if (w.values[i] === -128) w.values[i] = -127;  // symmetric
      b = { dtype: 'i32', shape: [OC], scales: ws.map((s) => Math.fround(xs * s)), zeroPoints: ws.map(() => 0), constant: true,
            values: Int32Array.from({ length: OC }, (_, o) => Math.round((2 * r() - 1) * 0.5 / (xs * ws[o]))) };
      y = out('i8', yshape, 0.032 * Math.sqrt(n) * (act === 'none' ? 1 : 0.6), zp());
    }
    return {
      tensors: [x, w, b, y],
      node: { ...NODE, op: fc ? 'FullyConnected' : 'Conv2d', inputs: [0, 1, 2], output: 3, kernelH: K, kernelW: K,
              strideH: S, strideW: S, padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3], groups: G, act },
    };
  }

  function pool({ max, B = 2, IH = 9, IW = 8, C = 6, K = 3, S = 2, pads = [1, 1, 1, 1], int8 = false }) {
    const OH = outDim(IH, K, S, pads[0], pads[2]), OW = outDim(IW, K, S, pads[1], pads[3]);
    const izp = zp();
    const x = int8 ? i8([B, IH, IW, C], 0.05, izp) : f32([B, IH, IW, C], 2);
    const y = int8 ? (max ? out('i8', [B, OH, OW, C], 0.05, izp) : out('i8', [B, OH, OW, C], 0.04, zp())) : out('f32', [B, OH, OW, C]);
    return {
      tensors: [x, y],
      node: { ...NODE, op: max ? 'MaxPool2d' : 'AvgPool2d', inputs: [0], output: 1, kernelH: K, kernelW: K, strideH: S, strideW: S,
              padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3] },
    };
  }

  function gap({ B = 3, H = 5, W = 4, C = 12, int8 = false }) {
    const x = int8 ? i8([B, H, W, C], 0.05, zp()) : f32([B, H, W, C], 2);
    const y = int8 ? out('i8', [B, 1, 1, C], 0.01, zp()) : out('f32', [B, 1, 1, C]);
    return { tensors: [x, y], node: { ...NODE, op: 'GlobalAvgPool', inputs: [0], output: 1 } };
  }

  function add({ B = 2, shape = [5, 6, 8], act = 'none', int8 = false }) {
    const s = [B, ...shape];
    const ts = int8 ? [i8(s, 0.05, zp()), i8(s, 0.03, zp()), out('i8', s, 0.07, zp())] : [f32(s, 2), f32(s, 2), out('f32', s)];
    return { tensors: ts, node: { ...NODE, op: 'Add', inputs: [0, 1], output: 2, act } };
  }

  function concat({ B = 2, chans = [4, 3, 8], int8 = false }) {
    const q = zp();
    const ins = chans.map((c) => (int8 ? i8([B, 3, 5, c], 0.05, q) : f32([B, 3, 5, c], 2)));
    const total = chans.reduce((a, b) => a + b, 0);
    const y = int8 ? out('i8', [B, 3, 5, total], 0.05, q) : out('f32', [B, 3, 5, total]);
    return { tensors: [...ins, y], node: { ...NODE, op: 'Concat', inputs: ins.map((_, i) => i), output: ins.length, axis: 3 } };
  }

  function unary({ op, act = 'none', from, to, B = 2, shape = [4, 5, 6] }) {
    const s = [B, ...shape];
    const x = from === 'i8' ? i8(s, 0.05, zp()) : f32(s, 6);
    const y = to === 'i8' ? (op === 'Sigmoid' ? out('i8', s, 1 / 256, -128) : out('i8', s, 0.05, zp())) : out('f32', s);
    return { tensors: [x, y], node: { ...NODE, op, inputs: [0], output: 1, act } };
  }
  return { conv, pool, gap, add, concat, unary };
}

/** The cases: [name, spec]. */
export function opCases(seed = 7) {
  const o = makeOps(rng(seed));
  const cases = [];
  for (const int8 of [false, true]) {
    const t = int8 ? 'i8' : 'f32';
    cases.push(
      [`conv dense 3x3 ic8 oc12 relu ${t}`, o.conv({ IC: 8, OC: 12, act: 'relu', int8 })],
      [`conv dense 3x3 s2 ic3 oc16 pads 1,1,0,0 ${t}`, o.conv({ IH: 10, IW: 9, IC: 3, OC: 16, S: 2, pads: [1, 1, 0, 0], int8 })],
      [`conv dense 3x3 ic5 oc6 (scalar) relu6 ${t}`, o.conv({ IC: 5, OC: 6, act: 'relu6', int8 })],
      [`conv dense 1x1 ic16 oc8 leaky ${t}`, o.conv({ IC: 16, OC: 8, K: 1, pads: [0, 0, 0, 0], act: 'leaky_relu', int8 })],
      [`conv dense 5x5 s2 pads 2,1,2,1 ic4 oc4 ${t}`, o.conv({ IH: 11, IW: 8, IC: 4, OC: 4, K: 5, S: 2, pads: [2, 1, 2, 1], int8 })],
      [`conv depthwise 3x3 c8 relu ${t}`, o.conv({ IC: 8, OC: 8, G: 8, act: 'relu', int8 })],
      [`conv depthwise 3x3 s2 c12 ${t}`, o.conv({ IH: 10, IW: 10, IC: 12, OC: 12, G: 12, S: 2, int8 })],
      [`conv depthwise 3x3 c6 (scalar) ${t}`, o.conv({ IC: 6, OC: 6, G: 6, int8 })],
      [`conv grouped g2 ic8 oc6 relu ${t}`, o.conv({ IC: 8, OC: 6, G: 2, act: 'relu', int8 })],
      [`conv grouped g4 ic8 oc12 s2 ${t}`, o.conv({ IC: 8, OC: 12, G: 4, S: 2, int8 })],
      [`fc 32->40 ${t}`, o.conv({ IC: 32, OC: 40, K: 1, fc: true, B: 3, int8 })],
      [`fc 21->10 relu ${t}`, o.conv({ IC: 21, OC: 10, K: 1, fc: true, act: 'relu', int8 })],
      [`maxpool 3x3 s2 p1 ${t}`, o.pool({ max: true, int8 })],
      [`maxpool 2x2 s2 ${t}`, o.pool({ max: true, K: 2, pads: [0, 0, 0, 0], int8 })],
      [`avgpool 3x3 s2 p1 ${t}`, o.pool({ max: false, int8 })],
      [`avgpool 2x2 s1 p0,0,1,1 ${t}`, o.pool({ max: false, K: 2, S: 1, pads: [0, 0, 1, 1], int8 })],
      [`global avg pool ${t}`, o.gap({ int8 })],
      [`add ${t}`, o.add({ int8 })],
      [`add relu ${t}`, o.add({ act: 'relu', int8 })],
      [`concat 4+3+8 ${t}`, o.concat({ int8 })],
      [`sigmoid ${t}`, o.unary({ op: 'Sigmoid', from: t, to: t })],
      [`activation leaky ${t}`, o.unary({ op: 'Activation', act: 'leaky_relu', from: t, to: t })],
      [`activation relu6 ${t}`, o.unary({ op: 'Activation', act: 'relu6', from: t, to: t })],
    );
  }
  cases.push(['quantize', o.unary({ op: 'Quantize', from: 'f32', to: 'i8' })],
             ['dequantize', o.unary({ op: 'Dequantize', from: 'i8', to: 'f32' })]);
  return cases;
}

const ARRAYS = { f32: Float32Array, i8: Int8Array, i32: Int32Array };

/** The node on the SDK's reference CPU kernels; returns the output values. */
function runCpu(ref, { tensors, node }) {
  const ptrs = [];
  try {
    const spec = { node, tensors: tensors.map((t) => {
      const bytes = count(t.shape) * ARRAYS[t.dtype].BYTES_PER_ELEMENT;
      const ptr = ref._malloc(bytes + 64);
      ptrs.push(ptr);
      ref.HEAPU8.fill(0, ptr, ptr + bytes + 64);
      if (t.values) ref.HEAPU8.set(new Uint8Array(t.values.buffer, t.values.byteOffset, bytes), ptr);
      return { ...t, values: undefined, ptr };
    }) };
    if (ref.runNode(spec, 0) !== 0) throw new Error(`no reference kernel for ${node.op}`);
    const y = tensors[node.output];
    const p = ptrs[node.output];
    return new ARRAYS[y.dtype](ref.HEAPU8.slice(p, p + count(y.shape) * ARRAYS[y.dtype].BYTES_PER_ELEMENT).buffer);
  } finally {
    for (const p of ptrs) ref._free(p);
  }
}

/** The node on the GPU: a one-node graph of batch-1 tensors, run with the batch. */
async function runGpu(device, { tensors, node }) {
  const B = tensors[node.inputs[0]].shape[0];
  const graph = {
    name: node.op,
    tensors: tensors.map((t) => ({
      ...t, shape: t.constant ? t.shape : [1, ...t.shape.slice(1)],
      data: t.constant ? new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength) : undefined,
    })),
    nodes: [node],
    input: node.inputs[0],
    feeds: node.inputs.slice(1).filter((i) => !tensors[i].constant),
    outputs: [node.output],
  };
  const net = new GpuNetwork(device, graph, { maxBatch: B });
  try {
    for (const t of graph.feeds) net.write(t, Float32Array.from(tensors[t].values));
    return await net.run(Float32Array.from(tensors[node.inputs[0]].values), B);
  } finally {
    net.destroy();
  }
}

/**
 * Runs every case on both sides. Per case: {name, dtype, n, maxAbs, maxRel (f32:
 * |d| / max(1, |ref|)), mismatched (int8: outputs differing), maxSteps (int8: largest |d|)}.
 */
export async function opParity(seed = 7) {
  const { default: factory } = await import('/webgpu-test/faceattr-webgpu-ref.js');
  const ref = await factory({ locateFile: (f) => `/webgpu-test/${f}` });
  const { device, adapter, reason } = await requestGpuDevice();
  if (!device) throw new Error(reason);
  device.pushErrorScope('validation');
  const results = [];
  for (const [name, c] of opCases(seed)) {
    const cpu = runCpu(ref, c);
    const gpu = await runGpu(device, c);
    const y = c.tensors[c.node.output];
    const res = { name, dtype: y.dtype, n: cpu.length, maxAbs: 0, maxRel: 0, mismatched: 0, maxSteps: 0, gpuLength: gpu.length };
    for (let i = 0; i < cpu.length; ++i) {
      const d = Math.abs(gpu[i] - cpu[i]);
      if (!(d <= res.maxAbs)) res.maxAbs = Number.isNaN(d) ? Infinity : d;
      res.maxRel = Math.max(res.maxRel, d / Math.max(1, Math.abs(cpu[i])));
      if (d !== 0) res.mismatched++;
    }
    res.maxSteps = y.dtype === 'i8' ? res.maxAbs : 0;
    // How much of the int8 output range the case spans (a check that the data are not all clamped).
    if (y.dtype === 'i8') res.distinct = new Set(cpu).size;
    results.push(res);
  }
  const err = await device.popErrorScope();
  device.destroy();
  return { results, adapter, error: err ? err.message : null };
}
