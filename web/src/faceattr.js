// faceattr for the web: face attributes from images and video, in the browser,
// on WebAssembly SIMD (threads when the page is cross-origin isolated) or with the
// networks on WebGPU (src/webgpu/), wasm as its fallback.
//
//   const fa = await FaceAttr.create({ model: '/models/anet-int8.fam' });
//   const { faces } = await fa.detect(videoElement);  // faces[i].track: a stable id per face
//
// Models are fetched from the page's own origin only; the package makes no other
// request (its module files are loaded relative to this file).
import { FaceAttrError, defaultThreads, loadModule, pickFlavour, threadsSupported } from './core.js';
import { Runner, isImageDataLike, sourceSize } from './runner.js';

export { FaceAttrError, threadsSupported };

const BACKENDS = ['auto', 'wasm', 'webgpu'];
const TRACK_MODES = ['auto', true, false];

export class FaceAttr {
  /**
   * options: {model, lnetModel?, localize?: boolean (default true), backend?: 'auto'|'wasm'|'webgpu',
   *           worker?: boolean (default true), threads?: number, maxFaces? (default 32), minFaceSize?,
   *           kernels?: 'auto'|'simd'|'reference', distUrl?, track?: 'auto'|boolean, tracker?,
   *           thresholds?: 'accuracy'|'balanced', views?: 1|2}
   * model / lnetModel: a same-origin URL (string or URL) or the model bytes. detect() localises
   * every face of the frame with the localiser: lnetModel, or, when lnetModel is left out and
   * model is a URL, lnet-int8.fam in the model's folder if the server has it (as the CLI finds
   * it beside the ANet). localize: false (or lnetModel: null) takes each frame as one face crop.
   * track: which detect() calls are frames of one tracked stream: 'auto' (default) those on a
   * <video> or a VideoFrame, true all of them, false none (no tracker). tracker: its options
   * (faceattr.d.ts TrackerOptions; the SDK's defaults for the others). thresholds: which of the
   * model's decision thresholds decide `present` (default 'accuracy'; 'balanced' rejects with
   * FACEATTR_ERR_UNSUPPORTED for a model without them; setThresholds() changes it later).
   * views: ANet runs per face: 1 (default), or 2: also the face's crop shrunk to 0.9 of its
   * size and mirrored, the two views' log-odds averaged (twice ANet's time).
   */
  static async create(options = {}) {
    const backend = options.backend ?? 'auto';
    if (!BACKENDS.includes(backend)) {
      throw new FaceAttrError(`backend "${backend}" is not available (have: ${BACKENDS.join(', ')})`,
                              'FACEATTR_ERR_UNSUPPORTED');
    }
    if (options.model == null) throw new FaceAttrError('options.model is required', 'FACEATTR_ERR_INVALID_ARGUMENT');
    const track = options.track ?? 'auto';
    if (!TRACK_MODES.includes(track)) {
      throw new FaceAttrError(`track must be 'auto', true or false, got ${JSON.stringify(track)}`, 'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    const flavour = pickFlavour(options);
    const threads = options.threads ?? (flavour === 'simd-threads' ? defaultThreads() : 1);
    const distUrl = options.distUrl ? new URL(options.distUrl, baseUrl()).href : undefined;
    if (distUrl && new URL(distUrl).origin !== new URL(baseUrl()).origin) {
      throw new FaceAttrError(`distUrl ${distUrl} is not on this page's origin; the module is only loaded from it`,
                              'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    const useWorker = (options.worker ?? true) && typeof Worker !== 'undefined';
    const fa = new FaceAttr();
    fa.#track = track;
    let preloading = null;
    if (useWorker) {
      // The worker starts fetching and compiling the module while the models download.
      fa.#worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'faceattr' });
      fa.#worker.onmessage = (ev) => fa.#reply(ev.data);
      fa.#worker.onerror = (ev) => fa.#fail(new FaceAttrError(`faceattr worker failed: ${ev.message || 'load error'}`,
                                                              'FACEATTR_ERR_INTERNAL'));
      fa.#worker.postMessage({ op: 'load', flavour, distUrl, threads });
    } else {
      preloading = { flavour, distUrl, threads, promise: loadModule(flavour, { distUrl, threads }) };
      preloading.promise.catch(() => {});
    }
    let model, lnetModel;
    try {
      [model, lnetModel] = await Promise.all([
        loadModel(options.model, 'model'),
        options.lnetModel != null ? loadModel(options.lnetModel, 'lnetModel') : discoverLnet(options),
      ]);
    } catch (e) {
      if (fa.#worker) fa.#worker.terminate();
      throw e;
    }
    const init = {
      model, lnetModel, localize: options.localize, threads, backend,
      kernels: options.kernels, maxFaces: options.maxFaces, minFaceSize: options.minFaceSize, distUrl,
      track: track !== false, tracker: options.tracker ?? {}, thresholds: options.thresholds ?? 'accuracy',
      views: options.views ?? 1,
    };
    if (useWorker) {
      const transfer = [model.buffer];
      if (lnetModel) transfer.push(lnetModel.buffer);
      try {
        fa.info = await fa.#call({ op: 'init', options: init }, transfer);
      } catch (e) {
        fa.#worker.terminate();
        fa.#worker = null;
        throw e;
      }
    } else {
      fa.#runner = await Runner.create(init, preloading);
      fa.info = fa.#runner.info();
    }
    return fa;
  }

  /** "webgpu", "wasm-simd" or "wasm-simd-threads": what ran the last frame (or will run the next). */
  get backend() { return this.info.backend; }
  /** Why: 'requested', why 'auto' chose it, or why the GPU was given up (device lost, error). */
  get backendReason() { return this.info.backendReason; }
  /** The WebGPU adapter in use ({vendor, architecture, description, fallback}), or null. */
  get gpuAdapter() { return this.info.gpuAdapter; }
  /** Attribute names and thresholds (those of the policy in use), in the model's order. */
  get attributes() { return this.info.attributes; }
  /** The decision thresholds in use: 'accuracy' or 'balanced'. */
  get thresholds() { return this.info.thresholds; }
  /** The policies the model has thresholds for: ['accuracy'] or ['accuracy', 'balanced']. */
  get thresholdPolicies() { return this.info.thresholdPolicies; }
  /** True when detect() localises faces (an LNet model loaded, localize not false): several faces, real boxes. */
  get hasLocalizer() { return this.info.hasLocalizer; }
  get inWorker() { return this.#worker != null; }
  /** Which detect() calls are tracked: 'auto' (video frames), true (all) or false (none). */
  get track() { return this.#track; }
  /** The tracker's options (every one, the SDK's defaults filled in), or null with track: false. */
  get trackerOptions() { return this.info.tracker; }

  /**
   * Faces and their attributes in `source`: ImageData, HTMLVideoElement,
   * VideoFrame, ImageBitmap, an <img> or a canvas. {crop: true}: take the whole
   * frame as one face crop. {responseMap: true}: also the localiser's response
   * map of the frame as `responseMap` (null without a localiser or with crop).
   * {track}: whether the frame is the next of the tracked stream (default: the
   * create option's choice for this kind of source; never with crop), then each
   * face is a track: `track` id, smoothed box and attributes, `rawBox`, `age`.
   * {timestamp}: the frame's time in ms (default: a VideoFrame's own, else now).
   * Resolves to {faces, backend, timings[, responseMap][, tracking]}.
   */
  async detect(source, { crop = false, responseMap = false, track, timestamp } = {}) {
    const t0 = performance.now();
    const tracked = !crop && Boolean(track ?? (this.#track === 'auto' ? isVideoSource(source) : this.#track));
    const time = tracked ? (timestamp ?? frameTime(source, t0)) : undefined;
    let result;
    if (this.#runner) {
      result = await this.#inPage((r) => r.detect(source, { crop, responseMap, track: tracked, timestamp: time }));
    } else if (this.#worker) {
      const { message, transfer } = await toMessage(source);
      result = await this.#call({ op: 'detect', source: message, crop, responseMap, track: tracked, timestamp: time }, transfer);
    } else {
      throw new FaceAttrError('this FaceAttr is closed', 'FACEATTR_ERR_INVALID_ARGUMENT');
    }
    result.timings.totalMs = performance.now() - t0;
    if (result.backend !== this.info.backend) {
      // The GPU was given up (device lost, GPU error): the same session goes on in wasm.
      this.info = { ...this.info, backend: result.backend, backendReason: result.fallbackReason ?? '', gpuAdapter: null };
    }
    return result;
  }

  /**
   * Where attributes come from on face `faceIndex` of the last detect():
   * `attrs` names or indices (one or an array; default all). Resolves to one
   * {attribute, index, p, logit, bias, peak, peakValue, map, concepts} per
   * attribute (see faceattr.d.ts; concepts: [{name, contribution}], largest
   * |contribution| first, [] for a model without concept heads). No network runs: the last detect's activations are
   * reused. Rejects with FACEATTR_ERR_UNSUPPORTED while the WebGPU backend
   * runs the networks, FACEATTR_ERR_INVALID_ARGUMENT after a {crop: true}
   * detect or for a face or attribute the last detect does not have.
   */
  async explain(faceIndex, attrs) {
    if (this.#runner) return this.#inPage((r) => r.explain(faceIndex, attrs));
    return this.#call({ op: 'explain', face: faceIndex, attrs });
  }

  /**
   * Switches the decision thresholds ('accuracy' | 'balanced') for the later detect() calls:
   * each attribute's `present`, `attributes[].threshold` and the tracker's decisions (a track
   * decides afresh on its next frame). Rejects with FACEATTR_ERR_UNSUPPORTED when the model has
   * no such thresholds (see thresholdPolicies), FACEATTR_ERR_INVALID_ARGUMENT for another
   * name; the thresholds stay as they were then.
   */
  async setThresholds(policy) {
    // The runner's info afterwards: the thresholds in attributes[], the policy, the backend now.
    this.info = this.#runner ? await this.#inPage((r) => r.setThresholds(policy))
                             : await this.#call({ op: 'setThresholds', thresholds: policy });
  }

  /**
   * Starts a new stream: forgets every track (the next tracked frame's faces get
   * ids from 1) and the tracker's counters. Call it when the video source changes.
   */
  async resetTracks() {
    if (this.#runner) return this.#inPage((r) => r.resetTracks());
    await this.#call({ op: 'resetTracks' });
  }

  /**
   * Test and demo hook: destroys the WebGPU device as a GPU reset would; the next
   * detect() runs on wasm with the same session. No-op on wasm.
   */
  async loseGpuDevice() {
    if (this.#runner) {
      await this.#inline;
      this.#runner.loseDevice();
    } else if (this.#worker) {
      await this.#call({ op: 'loseDevice' });
    }
  }

  /** Frees the session (and ends the worker). */
  async close() {
    if (this.#runner) this.#runner.close();
    this.#runner = null;
    if (this.#worker) {
      try { await this.#call({ op: 'close' }); } finally { this.#worker.terminate(); this.#worker = null; }
    }
  }

  #worker = null;
  #runner = null;
  #track = 'auto';
  #inline = Promise.resolve();
  #pending = new Map();
  #next = 1;

  // In-page calls run one at a time, in order (a VideoFrame copy is asynchronous).
  #inPage(fn) {
    const run = this.#inline.then(() => fn(this.#runner));
    this.#inline = run.catch(() => {});
    return run;
  }

  #call(msg, transfer = []) {
    if (!this.#worker) return Promise.reject(new FaceAttrError('this FaceAttr is closed', 'FACEATTR_ERR_INVALID_ARGUMENT'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...msg, id }, transfer);
    });
  }

  #reply({ id, result, error }) {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (error) p.reject(new FaceAttrError(error.message, error.code));
    else p.resolve(result);
  }

  #fail(err) {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** Frames of a video: tracked by default (track: 'auto'). */
function isVideoSource(source) {
  return (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement) ||
         (typeof VideoFrame !== 'undefined' && source instanceof VideoFrame);
}

/** A frame's time in ms: a VideoFrame's own timestamp (microseconds), else `now`. */
function frameTime(source, now) {
  if (typeof VideoFrame !== 'undefined' && source instanceof VideoFrame && Number.isFinite(source.timestamp)) {
    return source.timestamp / 1000;
  }
  return now;
}

function baseUrl() {
  return globalThis.location ? globalThis.location.href : import.meta.url;
}

/** Model bytes from bytes or a same-origin URL (any other origin is refused, never fetched). */
async function loadModel(src, what) {
  if (src instanceof ArrayBuffer) return new Uint8Array(src.slice(0));
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
  if (typeof src !== 'string' && !(src instanceof URL)) {
    throw new FaceAttrError(`${what}: expected a URL or model bytes`, 'FACEATTR_ERR_INVALID_ARGUMENT');
  }
  const url = new URL(src, baseUrl());
  const origin = new URL(baseUrl()).origin;
  if (url.origin !== origin) {
    throw new FaceAttrError(`${what}: ${url.href} is not on this page's origin (${origin}); models are only fetched from it`,
                            'FACEATTR_ERR_INVALID_ARGUMENT');
  }
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new FaceAttrError(`${what}: ${url.pathname}: HTTP ${res.status}`, 'FACEATTR_ERR_MODEL_FORMAT');
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * The localiser beside a model given by URL (lnet-int8.fam in its folder), when the caller named
 * none (lnetModel undefined) and localises; null when there is none to fetch.
 */
async function discoverLnet(options) {
  if (options.lnetModel !== undefined || options.localize === false) return null;
  if (typeof options.model !== 'string' && !(options.model instanceof URL)) return null;
  try {
    return await loadModel(new URL('lnet-int8.fam', new URL(options.model, baseUrl())), 'lnetModel');
  } catch {
    return null;  // no localiser beside the model: whole-frame mode, as without one
  }
}

/** What goes to the worker for a frame, and what is transferred (never the caller's own objects). */
async function toMessage(source) {
  if (isImageDataLike(source)) {
    const data = new Uint8ClampedArray(source.data);  // a copy, transferred
    return { message: { data, width: source.width, height: source.height }, transfer: [data.buffer] };
  }
  if (typeof VideoFrame !== 'undefined' && source instanceof VideoFrame) {
    const frame = source.clone();
    return { message: frame, transfer: [frame] };
  }
  const { width, height } = sourceSize(source);
  if (!(width > 0 && height > 0)) {
    throw new FaceAttrError(`the frame has no pixels yet (${width}x${height}); is the video playing?`,
                            'FACEATTR_ERR_INVALID_ARGUMENT');
  }
  // A video's current frame as a VideoFrame: the worker copies it into the wasm
  // heap as RGBA without a canvas round trip.
  if (typeof VideoFrame !== 'undefined' && typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement) {
    try {
      const frame = new VideoFrame(source);
      return { message: frame, transfer: [frame] };
    } catch {
      // not decodable as a frame right now: fall back to a bitmap
    }
  }
  const bitmap = await createImageBitmap(source);
  return { message: bitmap, transfer: [bitmap] };
}
