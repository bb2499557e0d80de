// Frames from the web platform into the engine: ImageData directly, anything
// drawable (ImageBitmap, VideoFrame, <video>, <img>, canvases) through a 2D
// canvas into the engine's reusable wasm-heap frame buffer. Used inside the
// worker (worker.js) and, with {worker: false}, on the page itself.
import { Engine, FaceAttrError, loadModule, pickFlavour } from './core.js';

export class Runner {
  /**
   * opts: {model, lnetModel?, localize?, backend?, threads?, kernels?, maxFaces?, minFaceSize?, distUrl?,
   * track?: false for no tracker, tracker?: its options, thresholds?: 'accuracy'|'balanced', views?: 1|2}
   * (bytes, not URLs).
   * preloading: {flavour, distUrl, threads, promise} of a loadModule call already under way.
   * backend 'webgpu': the networks on the GPU (rejects without a usable adapter); 'auto': the
   * GPU when the adapter is a hardware one (a software adapter such as SwiftShader is far
   * slower than wasm SIMD), else wasm; 'wasm' (default here): wasm only.
   */
  static async create(opts, preloading = null) {
    const flavour = pickFlavour(opts);
    const module = preloading && preloading.flavour === flavour && preloading.distUrl === opts.distUrl &&
                   preloading.threads === opts.threads
      ? await preloading.promise
      : await loadModule(flavour, { distUrl: opts.distUrl, threads: opts.threads });
    const engine = Engine.create(module, { ...opts, flavour });
    const backend = opts.backend ?? 'wasm';
    if (backend === 'wasm') return new Runner(engine, 'requested');
    if (backend === 'auto' && !(globalThis.navigator && navigator.gpu)) {
      return new Runner(engine, 'WebGPU is not available here (no navigator.gpu)');
    }
    let gpu;
    try {
      // The WebGPU layer loads only when it may be used.
      const { GpuEngine } = await import('./webgpu/engine.js');
      gpu = await GpuEngine.create(engine, { allowSoftware: backend === 'webgpu' });
    } catch (e) {
      if (backend === 'webgpu') {
        engine.close();
        throw e instanceof FaceAttrError ? e : new FaceAttrError(`WebGPU backend unavailable: ${e && e.message}`,
                                                                 'FACEATTR_ERR_UNSUPPORTED');
      }
      return new Runner(engine, e.message);  // auto: wasm, and why
    }
    return new Runner(gpu, backend === 'webgpu' ? 'requested' : 'hardware WebGPU adapter');
  }

  constructor(engine, reason = '') {
    this.engine = engine;
    this.reason = reason;
    this.canvas = null;
    this.ctx = null;
  }

  /** Why this backend runs: 'requested', the reason auto chose it, or why the GPU was given up. */
  get backendReason() {
    return this.engine.fallbackReason || this.reason;
  }

  /** Test hook: loses the GPU device (no-op on wasm). */
  loseDevice() {
    if (typeof this.engine.loseDevice === 'function') this.engine.loseDevice();
  }

  info() {
    const e = this.engine;
    return {
      backend: e.backend,
      backendReason: this.backendReason,
      gpuAdapter: e.adapter ?? null,
      kernels: e.kernels,
      threads: e.threads,
      hasLocalizer: e.hasLocalizer,
      tracker: e.trackerOptions ?? null,
      attributes: e.attributes,
      thresholds: e.thresholds,
      thresholdPolicies: e.thresholdPolicies,
      modelName: e.metadata('name'),
    };
  }

  /** Switches the decision thresholds ('accuracy' | 'balanced'); returns the new info(). */
  setThresholds(policy) {
    this.engine.setThresholds(policy);
    return this.info();
  }

  /**
   * Runs on `source`; {crop: true} takes the whole frame as one face (ANet alone);
   * {responseMap: true} adds the localiser's map of the frame (null without one);
   * {track: true, timestamp}: the frame is the next of the tracked stream (its time in ms).
   */
  async detect(source, { crop = false, responseMap = false, track = false, timestamp } = {}) {
    const result = await this.#predict(source, { crop, track, timestamp });
    if (responseMap) result.responseMap = crop ? null : this.engine.responseMap();
    // The module's linear memory (it only grows): how much the session holds in wasm.
    result.wasmMemoryBytes = this.engine.M.HEAPU8.buffer.byteLength;
    return result;
  }

  /** Forgets every track: the next tracked frame starts a new stream (ids from 1). */
  resetTracks() {
    this.engine.resetTracks();
  }

  /** Engine.explain on the faces of the last detect (wasm only: see GpuEngine.explain). */
  explain(faceIndex, attrs) {
    return this.engine.explain(faceIndex, attrs);
  }

  // A VideoFrame is copied by the browser straight into the wasm-heap frame buffer
  // as RGBA (VideoFrame.copyTo); other drawables go through a 2D canvas.
  async #predict(source, opts) {
    const e = this.engine;
    if (isImageDataLike(source)) {
      return e.predict(source.data, source.width, source.height, 'rgba', opts);
    }
    if (this.#copyTo && typeof VideoFrame !== 'undefined' && source instanceof VideoFrame) {
      const result = await this.#fromVideoFrame(source, opts);
      if (result) return result;
    }
    const { width, height } = sourceSize(source);
    if (!(width > 0 && height > 0)) {
      throw new FaceAttrError(`the frame has no pixels yet (${width}x${height}); is the video playing?`,
                              'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    const ctx = this.#context(width, height);
    ctx.drawImage(source, 0, 0, width, height);
    const pixels = ctx.getImageData(0, 0, width, height).data;
    e.frameView(pixels.length).set(pixels);
    return e.predictFrame(width, height, width * 4, 'rgba', opts);
  }

  #copyTo = true;  // false once the browser cannot convert VideoFrames to RGBA

  async #fromVideoFrame(frame, predictOpts) {
    const opts = { format: 'RGBA', colorSpace: 'srgb' };
    let bytes;
    try {
      bytes = frame.allocationSize(opts);
    } catch {
      this.#copyTo = false;  // e.g. a browser without RGBA conversion in copyTo
      return null;
    }
    const { width, height } = frame.visibleRect;
    // Nothing else runs on this engine while the copy is under way (callers
    // serialise), so the heap cannot grow under the view.
    const layout = await frame.copyTo(this.engine.frameView(bytes), opts);
    return this.engine.predictFrame(width, height, layout[0].stride, 'rgba', predictOpts);
  }

  close() {
    this.engine.close();
  }

  #context(width, height) {
    if (!this.canvas) {
      this.canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height)
                                                           : document.createElement('canvas');
    }
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    if (!this.ctx) this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    return this.ctx;
  }
}

export function isImageDataLike(s) {
  return s != null && typeof s === 'object' && (s.data instanceof Uint8ClampedArray || s.data instanceof Uint8Array) &&
         Number.isInteger(s.width) && Number.isInteger(s.height) && typeof s.getContext !== 'function';
}

export function sourceSize(s) {
  if (s == null || typeof s !== 'object') {
    throw new FaceAttrError('detect() takes ImageData, ImageBitmap, VideoFrame, HTMLVideoElement, an image or a canvas',
                            'FACEATTR_ERR_INVALID_ARGUMENT');
  }
  if (typeof VideoFrame !== 'undefined' && s instanceof VideoFrame) return { width: s.displayWidth, height: s.displayHeight };
  if (typeof HTMLVideoElement !== 'undefined' && s instanceof HTMLVideoElement) return { width: s.videoWidth, height: s.videoHeight };
  if (typeof HTMLImageElement !== 'undefined' && s instanceof HTMLImageElement) return { width: s.naturalWidth, height: s.naturalHeight };
  if (Number.isFinite(s.width) && Number.isFinite(s.height)) return { width: s.width, height: s.height };
  throw new FaceAttrError('detect(): unsupported frame source', 'FACEATTR_ERR_INVALID_ARGUMENT');
}
