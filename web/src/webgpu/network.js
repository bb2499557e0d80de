// One faceattr network on a GPUDevice: built from the graph the wasm module reads
// out of the session's own .fam model (WebGpuStages.graph, wasm/webgpu_stages.cpp).
//
// At construction: one pipeline per kernel (kernels.js), weights uploaded once,
// activation buffers planned once for `maxBatch` items (a buffer is reused by a
// later tensor once every reader of its previous tensor has run), bind groups
// made once. run(): writes the input, encodes every dispatch into one compute
// pass of one command buffer, copies only the final output to a read-back buffer
// and maps it.
import { WORKGROUP, fusableUnary, nodeKernels } from './kernels.js';

const STORAGE = 0x80;   // GPUBufferUsage.STORAGE
const COPY_SRC = 0x04;  // GPUBufferUsage.COPY_SRC
const COPY_DST = 0x08;  // GPUBufferUsage.COPY_DST
const UNIFORM = 0x40;   // GPUBufferUsage.UNIFORM
const MAP_READ = 0x01;  // GPUBufferUsage.MAP_READ
const MAP_MODE_READ = 0x01;

const elements = (t) => t.shape.reduce((a, b) => a * b, 1);
const perItem = (t) => elements(t) / t.shape[0];
const align16 = (n) => Math.max(16, Math.ceil(n / 16) * 16);

export class GpuNetwork {
  /**
   * device: a GPUDevice; graph: {tensors, nodes, input, outputs, ...}; maxBatch: items per run
   * (ANet: faces of a frame). Throws on an op without a kernel; GPU validation errors
   * surface through the device's error scopes. `graph.feeds` (optional): further
   * activation tensors the caller writes (write()) besides graph.input.
   */
  constructor(device, graph, { maxBatch = 1, label = graph.name } = {}) {
    this.device = device;
    this.graph = graph;
    this.maxBatch = maxBatch;
    this.label = label;
    const { tensors, nodes } = graph;
    if (graph.outputs.length < 1) throw new Error('the graph has no output');
    this.input = tensors[graph.input];
    this.output = tensors[graph.outputs[0]];
    this.inputElements = perItem(this.input);
    this.outputElements = perItem(this.output);
    this.buffers = [];  // every GPUBuffer, for destroy()

    // Kernels and their weights, node by node. A conv / fc whose output only feeds a
    // chain of fusable unary nodes (e.g. fc -> Dequantize -> Sigmoid) applies them
    // in its epilogue; their intermediate tensors never exist.
    const uses = new Map();
    nodes.forEach((n) => { for (const t of n.inputs) if (t >= 0) uses.set(t, (uses.get(t) || 0) + 1); });
    const isOutput = new Set(graph.outputs);
    const fused = new Set();  // node indices done inside another node's kernel
    const outputOf = new Map();  // node index -> tensor its kernel writes
    this.steps = [];
    nodes.forEach((node, i) => {
      if (fused.has(i)) return;
      const post = [];
      let out = node.output;
      if (node.op === 'Conv2d' || node.op === 'FullyConnected') {
        for (;;) {
          if (isOutput.has(out) || uses.get(out) !== 1) break;
          const j = nodes.findIndex((n, k) => k > i && n.inputs.includes(out));
          if (j < 0 || !fusableUnary(nodes[j], tensors)) break;
          post.push(nodes[j]);
          fused.add(j);
          out = nodes[j].output;
        }
      }
      outputOf.set(i, out);
      for (const k of nodeKernels(node, tensors, post)) this.steps.push({ node, output: out, ...k });
    });
    this.dispatches = this.steps.length;

    // Activation buffers: liveness over the node order.
    const lastUse = new Map();
    nodes.forEach((n, i) => { for (const t of n.inputs) if (t >= 0) lastUse.set(t, i); });
    for (const t of graph.outputs) lastUse.set(t, Infinity);
    const slot = new Map();  // tensor -> pool index
    const pool = [];         // {bytes, freeAfter}
    const bytesOf = (t) => align16(perItem(tensors[t]) * maxBatch * 4);
    const take = (t, i) => {
      const need = bytesOf(t);
      let k = pool.findIndex((p) => p.freeAfter < i);
      if (k < 0) { k = pool.length; pool.push({ bytes: 0, freeAfter: 0 }); }
      pool[k].bytes = Math.max(pool[k].bytes, need);
      pool[k].freeAfter = lastUse.get(t) ?? i;  // an unread output is free after its node
      slot.set(t, k);
    };
    // Inputs are written before each run and never reused.
    for (const t of [graph.input, ...(graph.feeds || [])]) {
      take(t, -1);
      pool[slot.get(t)].freeAfter = Infinity;
    }
    nodes.forEach((n, i) => { if (!fused.has(i)) take(outputOf.get(i), i); });
    this.activationBytes = pool.reduce((a, p) => a + p.bytes, 0);
    const poolBuffers = pool.map((p, i) => this.#buffer(p.bytes, STORAGE | COPY_SRC | COPY_DST, `${label} act${i}`));
    this.bufferOf = (t) => poolBuffers[slot.get(t)];

    this.uniform = this.#buffer(16, UNIFORM | COPY_DST, `${label} batch`);
    this.readback = this.#buffer(align16(this.outputElements * maxBatch * 4), MAP_READ | COPY_DST, `${label} readback`);

    // Pipelines (one per distinct shader), weights (uploaded once), bind groups.
    const modules = new Map();
    this.weightBytes = 0;
    for (const s of this.steps) {
      let pipeline = modules.get(s.code);
      if (!pipeline) {
        const module = device.createShaderModule({ code: s.code, label: `${label} ${s.node.name}` });
        pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: s.node.name });
        modules.set(s.code, pipeline);
      }
      s.pipeline = pipeline;
      const entries = [{ binding: 0, resource: { buffer: this.uniform } }];
      for (const t of s.inputs) entries.push({ binding: entries.length, resource: { buffer: this.bufferOf(t) } });
      for (const data of [s.weights, s.params]) {
        if (!data) continue;
        const buf = this.#buffer(align16(data.byteLength), STORAGE | COPY_DST, `${label} ${s.node.name} consts`);
        device.queue.writeBuffer(buf, 0, data);
        this.weightBytes += data.byteLength;
        entries.push({ binding: entries.length, resource: { buffer: buf } });
      }
      entries.push({ binding: entries.length, resource: { buffer: this.bufferOf(s.output) } });
      s.bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: s.node.name });
      s.weights = s.params = null;  // on the GPU now
    }
    this.batchData = new Uint32Array(4);
  }

  /** Writes `data` (f32, batch-major) into activation tensor `t` (one of graph.feeds) for the next run. */
  write(t, data) {
    this.device.queue.writeBuffer(this.bufferOf(t), 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Runs `batch` items whose inputs (batch x inputElements f32, NHWC) are `input`
   * (a Float32Array, e.g. a view of the wasm heap); resolves to a fresh Float32Array
   * of batch x outputElements.
   */
  async run(input, batch = 1) {
    if (!Number.isInteger(batch) || batch < 1 || batch > this.maxBatch) {
      throw new Error(`batch must be 1..${this.maxBatch}, got ${batch}`);
    }
    if (input.length < batch * this.inputElements) throw new Error('input holds fewer values than the batch needs');
    const { device } = this;
    this.batchData[0] = batch;
    device.queue.writeBuffer(this.uniform, 0, this.batchData);
    device.queue.writeBuffer(this.bufferOf(this.graph.input), 0, input.buffer, input.byteOffset,
                             batch * this.inputElements * 4);
    const enc = device.createCommandEncoder({ label: this.label });
    const pass = enc.beginComputePass();
    for (const s of this.steps) {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      const groups = Math.ceil((s.threads * batch) / WORKGROUP);
      const gx = Math.min(groups, 32768);
      pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
    }
    pass.end();
    const bytes = batch * this.outputElements * 4;
    enc.copyBufferToBuffer(this.bufferOf(this.graph.outputs[0]), 0, this.readback, 0, align16(bytes));
    device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(MAP_MODE_READ, 0, align16(bytes));
    try {
      return new Float32Array(this.readback.getMappedRange(0, align16(bytes)).slice(0, bytes));
    } finally {
      this.readback.unmap();
    }
  }

  destroy() {
    for (const b of this.buffers) b.destroy();
    this.buffers = [];
    this.steps = [];
  }

  #buffer(size, usage, label) {
    const b = this.device.createBuffer({ size, usage, label });
    this.buffers.push(b);
    return b;
  }
}
