// The WebGPU backend: LNet and ANet as WGSL compute kernels (network.js), the
// stages around them in wasm (wasm/webgpu_stages.cpp: letterbox, response-map
// decoding, face crops), and the wasm session itself kept as the fallback.
//
// Per frame: wasm letterboxes the frame -> GPU LNet (one command buffer, the
// output map read back: mapChannels floats per cell) -> wasm decodes faces and
// resamples every face crop (and its second view, with views: 2) into one batch -> GPU ANet on the batch (one command
// buffer, the probabilities read back). Without localisation (no LNet, the session's localize option off,
// or {crop: true}) only the ANet part runs.
//
// Tracked frames ({track: true}) go through the wasm session's tracker with the
// faces the GPU found (Engine.updateTracks: ids, smoothed boxes and attributes;
// no local search, every frame runs both networks on the GPU).
//
// When the device is lost, an error is raised by the GPU, or the adapter goes
// away, the engine switches to the wasm session for this and every later frame
// (`backend` says which one runs; `fallbackReason` why) — the session, its
// models and its options stay as they were.
import { FaceAttrError, PIXEL_FORMATS } from '../core.js';
import { GpuNetwork } from './network.js';

/** {device, adapter: {vendor, architecture, description, fallback}} or {device: null, reason}. */
export async function requestGpuDevice() {
  const gpu = globalThis.navigator && navigator.gpu;
  if (!gpu) return { device: null, reason: 'WebGPU is not available here (no navigator.gpu)' };
  let adapter;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { device: null, reason: `WebGPU adapter request failed: ${e && e.message}` };
  }
  if (!adapter) return { device: null, reason: 'no WebGPU adapter' };
  let device;
  try {
    device = await adapter.requestDevice({ label: 'faceattr' });
  } catch (e) {
    return { device: null, reason: `WebGPU device request failed: ${e && e.message}` };
  }
  const info = adapter.info || {};
  return {
    device,
    adapter: {
      vendor: info.vendor || '', architecture: info.architecture || '', description: info.description || '',
      fallback: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
    },
  };
}

export class GpuEngine {
  /**
   * Puts the networks of `engine` (a wasm Engine: its session's models) on a new
   * GPUDevice. Rejects with FACEATTR_ERR_UNSUPPORTED when there is no usable adapter
   * (a software one only with allowSoftware) or the GPU refuses the networks;
   * `engine` stays usable either way.
   */
  static async create(engine, { allowSoftware = true } = {}) {
    const { device, adapter, reason } = await requestGpuDevice();
    if (!device) throw new FaceAttrError(reason, 'FACEATTR_ERR_UNSUPPORTED');
    if (adapter.fallback && !allowSoftware) {
      device.destroy();
      const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unknown';
      throw new FaceAttrError(`the WebGPU adapter is a software fallback (${name}), slower than wasm SIMD`,
                              'FACEATTR_ERR_UNSUPPORTED');
    }
    const g = new GpuEngine(engine);
    try {
      await g.#attach(device, adapter);
    } catch (e) {
      g.#release();
      g.stages.delete();  // the wasm engine stays (auto runs on it)
      device.destroy();
      throw new FaceAttrError(`WebGPU backend unavailable: ${e && e.message}`, 'FACEATTR_ERR_UNSUPPORTED');
    }
    return g;
  }

  constructor(engine) {
    this.cpu = engine;
    this.M = engine.M;
    this.stages = new this.M.WebGpuStages(engine.session.handle());
    this.device = null;
    this.adapter = null;
    this.anet = null;
    this.lnet = null;
    this.fallbackReason = null;
    this.lastMap = null;
    // The wasm engine's fields the Runner reads.
    this.attributes = engine.attributes;
    this.hasLocalizer = engine.hasLocalizer;
    this.threads = engine.threads;
    this.kernels = engine.kernels;
  }

  /** The tracker is the wasm session's, on either backend. */
  get trackerOptions() {
    return this.cpu.trackerOptions;
  }

  /** The decision thresholds are the wasm session's too: `attributes` (shared) follows them. */
  get thresholds() {
    return this.cpu.thresholds;
  }

  get thresholdPolicies() {
    return this.cpu.thresholdPolicies;
  }

  setThresholds(policy) {
    this.cpu.setThresholds(policy);
  }

  resetTracks() {
    this.cpu.resetTracks();
  }

  trackerStats() {
    return this.cpu.trackerStats();
  }

  /** 'webgpu' while the GPU runs the networks, else the wasm backend's name. */
  get backend() {
    return this.device ? 'webgpu' : this.cpu.backend;
  }

  async #attach(device, adapter) {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const anetGraph = this.stages.graph(0);
    // ANet: one batch item per face and view (the session's views option: 1 or 2).
    this.anet = new GpuNetwork(device, anetGraph, { maxBatch: this.stages.slots() * this.stages.views(), label: 'anet' });
    // LNet: one batch item per pass (a coarse half-size pass rides in the same command buffer).
    if (this.stages.localizes()) this.lnet = new GpuNetwork(device, this.stages.graph(1), { maxBatch: this.stages.lnetPasses(), label: 'lnet' });
    // One run of each network inside the error scopes: shader, pipeline and binding
    // errors show up here (create falls back) rather than as wrong numbers later.
    const zeros = (n) => new Float32Array(n);
    await this.anet.run(zeros(this.anet.inputElements), 1);
    if (this.lnet) await this.lnet.run(zeros(this.lnet.inputElements), 1);
    const errors = [await device.popErrorScope(), await device.popErrorScope()].filter(Boolean);
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    this.device = device;
    this.adapter = adapter;
    device.lost.then((info) => {
      if (this.device === device) this.#fallBack(`WebGPU device lost (${info.reason}): ${info.message}`);
    });
    device.onuncapturederror = (ev) => {
      if (this.device === device) this.#fallBack(`WebGPU error: ${ev.error && ev.error.message}`);
    };
  }

  frameView(bytes) {
    return this.cpu.frameView(bytes);
  }

  /** As Engine.predictFrame, but asynchronous: the networks run on the GPU while it is there. */
  async predictFrame(width, height, stride, format = 'rgba', opts = {}) {
    if (this.device) {
      let result;
      try {
        result = await this.#predictGpu(width, height, stride, format, opts);
      } catch (e) {
        if (e instanceof FaceAttrError) throw e;  // the caller's input: not the GPU's fault
        this.#fallBack(`WebGPU failed: ${e && e.message}`);
      }
      if (result) {
        if (opts.track && !opts.crop) {
          // The GPU's faces into the session's tracker: the same tracks on either backend.
          Object.assign(result, this.cpu.updateTracks(result.faces, opts.timestamp));
        }
        return result;
      }
    }
    return this.#tagged(this.cpu.predictFrame(width, height, stride, format, opts));
  }

  /** As Engine.predict (copies pixels into the frame buffer first). */
  async predict(pixels, width, height, format = 'rgba', opts = {}) {
    if (!(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray)) {
      throw new FaceAttrError('pixels must be a Uint8Array or Uint8ClampedArray', 'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    const ch = format === 'rgb' || format === 'bgr' ? 3 : 4;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new FaceAttrError(`image size must be positive integers, got ${width}x${height}`, 'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    if (pixels.length < width * height * ch) {
      throw new FaceAttrError(`pixels hold ${pixels.length} bytes, a ${width}x${height} ${format} image needs ${width * height * ch}`,
                              'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    this.frameView(width * height * ch).set(pixels.subarray(0, width * height * ch));
    return this.predictFrame(width, height, width * ch, format, opts);
  }

  /** LNet's response map of the last predict (GPU or wasm), or null; the caller's own copy. */
  responseMap() {
    if (!this.device) return this.cpu.responseMap();
    return this.lastMap && { ...this.lastMap, data: this.lastMap.data.slice() };
  }

  /**
   * Explanations need the activations of ANet's last feature map, which the GPU
   * network does not read back: FACEATTR_ERR_UNSUPPORTED while the GPU runs the
   * networks. After a fall back to wasm, the wasm session's explain.
   */
  explain(faceIndex, attrs) {
    if (!this.device) return this.cpu.explain(faceIndex, attrs);
    throw new FaceAttrError('explain() is not supported on the WebGPU backend (ANet\'s feature maps stay on the GPU); ' +
                            "create FaceAttr with backend: 'wasm' to explain attributes", 'FACEATTR_ERR_UNSUPPORTED');
  }

  metadata(key, which = 0) {
    return this.cpu.metadata(key, which);
  }

  /**
   * For tests and demos: destroys the GPUDevice as a driver reset or an unplugged
   * GPU would. The next frame runs on wasm.
   */
  loseDevice() {
    if (this.device) this.device.destroy();
  }

  close() {
    this.#release();
    if (this.device) this.device.destroy();
    this.device = null;
    if (this.stages) this.stages.delete();
    this.stages = null;
    this.cpu.close();
  }

  #release() {
    if (this.anet) this.anet.destroy();
    if (this.lnet) this.lnet.destroy();
    this.anet = this.lnet = null;
  }

  #fallBack(reason) {
    if (!this.device) return;
    const device = this.device;
    this.device = null;
    this.adapter = null;
    this.fallbackReason = reason;
    this.lastMap = null;
    try {
      this.#release();
      device.destroy();
    } catch {
      // already gone
    }
  }

  #tagged(result) {
    if (this.fallbackReason) result.fallbackReason = this.fallbackReason;
    return result;
  }

  #check(st) {
    if (st === 0) return;
    const code = this.M.statusString(st);
    throw new FaceAttrError(this.M.lastError() || code, code);
  }

  async #predictGpu(width, height, stride, format, { crop = false } = {}) {
    const cpu = this.cpu;
    if (!cpu.session) throw new FaceAttrError('the session is closed', 'FACEATTR_ERR_INVALID_ARGUMENT');
    const fmt = PIXEL_FORMATS[format];
    if (fmt === undefined) throw new FaceAttrError(`unknown pixel format "${format}"`, 'FACEATTR_ERR_INVALID_ARGUMENT');
    if (Number.isInteger(height) && Number.isInteger(stride) && height > 0 && stride > 0 &&
        height * stride > cpu.frameBytes) {
      throw new FaceAttrError(`frame of ${height} rows x ${stride} bytes exceeds the ${cpu.frameBytes}-byte frame buffer`,
                              'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    const M = this.M, st = this.stages, frame = cpu.framePtr;
    const args = [frame, width | 0, height | 0, stride | 0, fmt];
    const t0 = now();
    let preprocessMs = 0, lnetMs = 0, anetMs = 0;
    const whole = crop || !this.lnet;
    if (whole) {
      this.#check(st.cropWhole(...args, !crop));
      preprocessMs = now() - t0;
    } else {
      this.#check(st.lnetInput(...args));
      const p = st.lnetInputPtr() / 4;
      preprocessMs = now() - t0;
      const t1 = now();
      const passes = st.lnetPasses();
      // Every pass's map: mapHeight x mapWidth cells of mapChannels floats (HWC; a dense
      // box map has 5), decoded in wasm.
      const maps = await this.lnet.run(M.HEAPF32.subarray(p, p + passes * this.lnet.inputElements), passes);
      lnetMs = now() - t1;
      const t2 = now();
      M.HEAPF32.set(maps, st.responsePtr() / 4);  // HEAPF32 afresh: the heap may have grown meanwhile
      this.#check(st.decodeFaces(...args));
      preprocessMs += now() - t2;
      const mw = st.mapWidth(), mh = st.mapHeight(), sp = st.scoresPtr() / 4;
      this.lastMap = {
        data: M.HEAPF32.slice(sp, sp + mw * mh), width: mw, height: mh, originX: 0, originY: 0,
        cellWidth: st.cellWidth(), cellHeight: st.cellHeight(),
      };
    }
    const n = st.count();
    let probs = null;
    if (n > 0) {
      const p = st.anetInputPtr() / 4;
      const t3 = now();
      const views = st.views();
      probs = await this.anet.run(M.HEAPF32.subarray(p, p + views * n * this.anet.inputElements), views * n);
      anetMs = now() - t3;
      if (views === 2) {
        // The faces' first views, then their second: combined in wasm as predict combines them.
        const q = st.probsPtr() / 4, na = this.attributes.length;
        M.HEAPF32.set(probs, q);
        this.#check(st.combineViews(n));
        probs = M.HEAPF32.slice(q, q + n * na);
      }
    }
    const boxes = M.HEAPF32.slice(st.facesPtr() / 4, st.facesPtr() / 4 + 5 * n);
    const na = this.attributes.length;
    const faces = [];
    for (let f = 0; f < n; ++f) {
      const attributes = new Array(na);
      for (let a = 0; a < na; ++a) {
        const probability = probs[f * na + a];
        attributes[a] = { name: this.attributes[a].name, probability, present: probability >= this.attributes[a].threshold };
      }
      const b = boxes.subarray(5 * f, 5 * f + 5);
      // {crop: true}: the whole frame is the face (as the wasm path reports it).
      const box = crop ? { x: 0, y: 0, width: width | 0, height: height | 0 } : { x: b[0], y: b[1], width: b[2], height: b[3] };
      faces.push({ box, score: b[4], attributes });
    }
    const gpuSubmits = (whole ? 0 : 1) + (n > 0 ? 1 : 0);  // command buffers: LNet, then all faces' ANet
    return { faces, backend: 'webgpu', timings: { preprocessMs, lnetMs, anetMs, wasmMs: now() - t0, gpuSubmits } };
  }
}

function now() {
  return globalThis.performance ? performance.now() : Date.now();
}
