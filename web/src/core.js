// The engine: loads a wasm flavour and drives one SDK session through the
// Embind binding (wasm/binding.cpp). Used by the Web Worker (worker.js), by the
// in-page mode (runner.js) and directly by the node tests. No DOM here.

/** Module files per flavour, in dist/ beside src/. */
export const FLAVOURS = Object.freeze({
  simd: 'faceattr-simd',
  'simd-threads': 'faceattr-simd-threads',
});

/** faceattr_pixel_format. */
export const PIXEL_FORMATS = Object.freeze({ rgb: 0, rgba: 1, bgr: 2, bgra: 3 });
const CHANNELS = [3, 4, 3, 4];

/** faceattr_backend: CPU kernel families inside the module. */
export const KERNELS = Object.freeze({ auto: 0, reference: 1, simd: 3 });

/**
 * faceattr_threshold_policy: which of the model's decision thresholds decide `present`.
 * 'accuracy' (every model): each attribute's most accurate threshold; 'balanced' (models
 * whose file has balanced_thresholds): its equal-error-rate threshold.
 */
export const THRESHOLDS = Object.freeze({ accuracy: 0, balanced: 1 });

/**
 * Tracker options (faceattr_tracker_params), in the binding's order
 * (wasm/binding.cpp, kTrackerParams). Integers where the SDK's field is one.
 */
export const TRACKER_OPTIONS = Object.freeze([
  'fps', 'minCutoff', 'beta', 'dCutoff', 'window', 'hysteresis', 'matchIou', 'appearanceMin', 'maxMissed',
  'maxTracks', 'detectInterval', 'localMinScore',
]);
const TRACKER_INTEGERS = new Set(['window', 'maxMissed', 'maxTracks', 'detectInterval']);

/** Largest kernel thread count of the threads flavour (wasm/CMakeLists.txt). */
export const MAX_THREADS = 4;

/** An SDK error: `code` is the status name, e.g. "FACEATTR_ERR_INVALID_ARGUMENT". */
export class FaceAttrError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'FaceAttrError';
    this.code = code;
  }
}

/** True where the threads flavour can run: SharedArrayBuffer + cross-origin isolation. */
export function threadsSupported() {
  return typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated === true;
}

/** Picks the flavour: threads when isolated and more than one thread is wanted. */
export function pickFlavour({ threads } = {}) {
  if (threads === 1 || !threadsSupported()) return 'simd';
  return 'simd-threads';
}

/** Default thread count of the threads flavour. */
export function defaultThreads() {
  const n = (globalThis.navigator && navigator.hardwareConcurrency) || 2;
  return Math.max(1, Math.min(MAX_THREADS, n));
}

/**
 * Instantiates a flavour. `distUrl`: folder of the module files (default
 * ../dist/ next to this file); `wasmBinary`: the .wasm bytes when they should
 * not be fetched (node); `threads`: the kernel threads a threads-flavour session
 * will use (its pool of workers is started with the module).
 */
export async function loadModule(flavour, { distUrl, wasmBinary, threads } = {}) {
  const name = FLAVOURS[flavour];
  if (!name) throw new FaceAttrError(`unknown flavour "${flavour}"`, 'FACEATTR_ERR_INVALID_ARGUMENT');
  const base = new URL(distUrl ?? '../dist/', import.meta.url);
  const { default: factory } = await import(new URL(`${name}.js`, base).href);
  const opts = { locateFile: (file) => new URL(file, base).href };
  if (wasmBinary) opts.wasmBinary = wasmBinary;
  // Threads flavour: start as many pthread workers as the session will use.
  if (threads) opts.faceattrPoolSize = Math.min(Math.max(threads, 2), MAX_THREADS) - 1;
  return factory(opts);
}

function toBytes(model, what) {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  if (ArrayBuffer.isView(model)) return new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
  throw new FaceAttrError(`${what}: expected model bytes (ArrayBuffer or Uint8Array)`,
                          'FACEATTR_ERR_INVALID_ARGUMENT');
}

function invalid(message) {
  return new FaceAttrError(message, 'FACEATTR_ERR_INVALID_ARGUMENT');
}

/** The THRESHOLDS value of a policy name. */
function thresholdPolicy(name) {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(THRESHOLDS, name)) {
    throw invalid(`unknown thresholds ${JSON.stringify(name)} (have: ${Object.keys(THRESHOLDS).join(', ')})`);
  }
  return THRESHOLDS[name];
}

/** One SDK session in one module instance; one call at a time (JS is single-threaded per module). */
export class Engine {
  /**
   * @param module  a loaded module (loadModule)
   * @param opts    {model, lnetModel?, localize?, threads?, kernels?: 'auto'|'simd'|'reference',
   *                 maxFaces?, minFaceSize?, flavour?, track?, tracker?, thresholds?, views?}
   * With an lnetModel the engine localises faces unless localize is false (then,
   * as without one, each frame is one face: the centre crop). Unless track is
   * false the session gets a tracker (options `tracker`: TRACKER_OPTIONS names,
   * the SDK's defaults for the others), used by the calls given {track: true}.
   * thresholds: a THRESHOLDS name (default 'accuracy'); one the model lacks throws
   * FACEATTR_ERR_UNSUPPORTED. views: ANet runs per face, 1 (default) or 2 (also the crop
   * shrunk to 0.9 and mirrored; the two views' log-odds averaged).
   */
  static create(module, opts = {}) {
    const anet = toBytes(opts.model, 'model');
    const lnet = opts.lnetModel != null ? toBytes(opts.lnetModel, 'lnetModel') : null;
    const localize = opts.localize ?? true;
    if (typeof localize !== 'boolean') throw invalid(`localize must be true or false, got ${localize}`);
    const kernels = KERNELS[opts.kernels ?? 'auto'];
    if (kernels === undefined) throw invalid(`unknown kernels "${opts.kernels}"`);
    const thresholds = thresholdPolicy(opts.thresholds ?? 'accuracy');
    const views = opts.views ?? 1;
    if (views !== 1 && views !== 2) throw invalid(`views must be 1 or 2, got ${views}`);
    const threaded = module.threaded();
    let threads = threaded ? (opts.threads ?? defaultThreads()) : 1;
    if (!Number.isInteger(threads) || threads < 1) throw invalid(`threads must be a positive integer`);
    threads = Math.min(threads, MAX_THREADS);
    const M = module;
    const pa = M._malloc(Math.max(1, anet.length));
    const pl = lnet ? M._malloc(Math.max(1, lnet.length)) : 0;
    let session = null;
    try {
      if (!pa || (lnet && !pl)) throw new FaceAttrError('out of memory for the model', 'FACEATTR_ERR_OUT_OF_MEMORY');
      M.HEAPU8.set(anet, pa);
      if (lnet) M.HEAPU8.set(lnet, pl);
      session = M.Session.create(pa, anet.length, pl, lnet ? lnet.length : 0, threads, kernels,
                                 opts.maxFaces ?? 0, opts.minFaceSize ?? 0, localize, thresholds, views);
      if (!session) {
        const code = M.statusString(M.lastCreateStatus());
        throw new FaceAttrError(M.lastError() || code, code);
      }
    } finally {
      M._free(pa);
      if (pl) M._free(pl);
    }
    const engine = new Engine(M, session, threads, opts.flavour ?? (threaded ? 'simd-threads' : 'simd'));
    if (opts.track !== false) {
      try {
        engine.createTracker(opts.tracker);
      } catch (e) {
        engine.close();
        throw e;
      }
    }
    return engine;
  }

  constructor(module, session, threads, flavour) {
    this.M = module;
    this.session = session;
    this.threads = threads;
    this.flavour = flavour;
    this.nAttributes = session.nAttributes();
    this.attributes = [];
    for (let i = 0; i < this.nAttributes; ++i) {
      this.attributes.push({ name: session.attributeName(i), threshold: session.attributeThreshold(i) });
    }
    /** The THRESHOLDS names the model has ('accuracy' always). */
    this.thresholdPolicies = Object.keys(THRESHOLDS).filter((k) => session.hasThresholdPolicy(THRESHOLDS[k]));
    /** The policy in use: attributes[].threshold are its thresholds. */
    this.thresholds = Object.keys(THRESHOLDS).find((k) => THRESHOLDS[k] === session.thresholdPolicy());
    this.kernels = session.backend();
    this.hasLocalizer = session.hasLocalizer();
    this.stride = session.faceStride();
    this.framePtr = 0;
    this.frameBytes = 0;
    this.scratch = this.M._malloc(64);  // timings / response-map / tracker-stats read-out (doubles)
    this.trackerOptions = null;  // the tracker's options (all of them) while there is one
  }

  /**
   * (Re)creates the session's tracker: `options` (TRACKER_OPTIONS names) over the
   * SDK's defaults. A value the SDK refuses throws FACEATTR_ERR_INVALID_ARGUMENT
   * (and leaves no tracker). Starts a new stream.
   */
  createTracker(options = {}) {
    this.#alive();
    const s = this.session;
    if (options === null || typeof options !== 'object') throw invalid('tracker options must be an object');
    for (const k of Object.keys(options)) {
      if (!TRACKER_OPTIONS.includes(k)) throw invalid(`unknown tracker option "${k}" (have: ${TRACKER_OPTIONS.join(', ')})`);
      const v = options[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || (TRACKER_INTEGERS.has(k) && !Number.isInteger(v))) {
        throw invalid(`tracker option ${k} must be a${TRACKER_INTEGERS.has(k) ? 'n integer' : ' finite number'}, got ${v}`);
      }
    }
    s.trackerDefaults();
    const p = this.M.HEAPF64.subarray(s.trackerParamsPtr() / 8, s.trackerParamsPtr() / 8 + TRACKER_OPTIONS.length);
    TRACKER_OPTIONS.forEach((k, i) => { if (options[k] !== undefined) p[i] = options[k]; });
    const resolved = Object.fromEntries(TRACKER_OPTIONS.map((k, i) => [k, p[i]]));
    this.trackerOptions = null;
    this.#check(s.trackerCreate());
    this.trackerOptions = resolved;
    this.#lastTs = null;
  }

  /**
   * Switches the decision thresholds (a THRESHOLDS name) for the later frames:
   * `present`, attributes[].threshold and the tracker's decisions (each track
   * decides afresh on its next frame). Throws FACEATTR_ERR_UNSUPPORTED when the
   * model has none for that policy (thresholdPolicies); nothing changes then.
   */
  setThresholds(policy) {
    this.#alive();
    const value = thresholdPolicy(policy);
    const s = this.session;
    this.#check(s.setThresholdPolicy(value));
    this.thresholds = policy;
    // In place: the WebGPU engine shares this array and decides with it.
    this.attributes.forEach((a, i) => { a.threshold = s.attributeThreshold(i); });
  }

  /** Forgets every track: the next tracked frame starts a new stream (ids from 1). */
  resetTracks() {
    this.#alive();
    if (!this.trackerOptions) return;
    this.#check(this.session.trackerReset());
    this.#lastTs = null;
  }

  /** The tracker's counters since create or reset: {frames, fullPasses, localPasses, tracksStarted}; null without one. */
  trackerStats() {
    this.#alive();
    if (!this.trackerOptions) return null;
    this.#check(this.session.trackerStats(this.scratch));
    const d = this.M.HEAPF64.subarray(this.scratch / 8, this.scratch / 8 + 4);
    return { frames: d[0], fullPasses: d[1], localPasses: d[2], tracksStarted: d[3] };
  }

  /**
   * The next frame of the stream from faces found elsewhere (the WebGPU backend's
   * networks): `faces` as predict returns them ({box, score, attributes}), at most
   * maxFaces. Returns {faces, tracking}: the tracked faces of the frame (as
   * predictFrame's with {track: true}) and the tracker's counters. No local
   * search and no appearance test: the faces are taken as they are.
   */
  updateTracks(faces, timestamp) {
    this.#alive();
    this.#needTracker();
    const s = this.session;
    const max = s.maxFaces();
    if (!Array.isArray(faces) || faces.length > max) throw invalid(`updateTracks takes an array of at most ${max} faces`);
    const na = this.nAttributes;
    const stride = 5 + na;
    const base = s.trackerFacesPtr() / 4;
    const heap = this.M.HEAPF32;
    faces.forEach((f, k) => {
      const o = base + k * stride;
      heap[o] = f.box.x;
      heap[o + 1] = f.box.y;
      heap[o + 2] = f.box.width;
      heap[o + 3] = f.box.height;
      heap[o + 4] = f.score;
      for (let a = 0; a < na; ++a) heap[o + 5 + a] = f.attributes[a].probability;
    });
    this.#cropped = false;
    this.#check(s.trackerUpdate(faces.length, this.#streamTime(timestamp)));
    return { faces: this.#tracks(), tracking: this.trackerStats() };
  }

  /** Name of the backend in use, e.g. "wasm-simd" or "wasm-simd-threads". */
  get backend() {
    return `wasm-${this.flavour}`;
  }

  /**
   * The reusable frame buffer in the wasm heap, at least `bytes` long, as a
   * Uint8Array view: write pixels into it, then call predictFrame(). A fresh view
   * every call (the heap may grow and move between calls).
   */
  frameView(bytes) {
    if (!Number.isInteger(bytes) || bytes <= 0) throw invalid(`frame size must be positive, got ${bytes}`);
    if (bytes > this.frameBytes) {
      if (this.framePtr) this.M._free(this.framePtr);
      this.framePtr = this.M._malloc(bytes);
      this.frameBytes = this.framePtr ? bytes : 0;
      if (!this.framePtr) throw new FaceAttrError(`out of memory for a ${bytes}-byte frame`, 'FACEATTR_ERR_OUT_OF_MEMORY');
    }
    return this.M.HEAPU8.subarray(this.framePtr, this.framePtr + bytes);
  }

  /**
   * Runs on the frame already in frameView(): `height` rows of `stride` bytes.
   * {track: true}: the frame is the next of the stream the tracker follows
   * (faces are tracks: smoothed box and attributes, `track` id; crop mode is
   * never tracked); {timestamp}: its time in ms (see #streamTime).
   */
  predictFrame(width, height, stride, format = 'rgba', { crop = false, track = false, timestamp } = {}) {
    this.#alive();
    const fmt = PIXEL_FORMATS[format];
    if (fmt === undefined) throw invalid(`unknown pixel format "${format}"`);
    // The SDK validates sizes too; here only what it cannot see: the buffer's length.
    if (Number.isInteger(height) && Number.isInteger(stride) && height > 0 && stride > 0 &&
        height * stride > this.frameBytes) {
      throw invalid(`frame of ${height} rows x ${stride} bytes exceeds the ${this.frameBytes}-byte frame buffer`);
    }
    const tracked = track && !crop;
    if (tracked) this.#needTracker();
    this.#cropped = crop;
    const args = [this.framePtr, width | 0, height | 0, stride | 0, fmt];
    const t0 = now();
    const st = crop ? this.session.predictCrop(...args)
                    : tracked ? this.session.track(...args, this.#streamTime(timestamp)) : this.session.predict(...args);
    const wasmMs = now() - t0;
    if (tracked) this.#faceIndex = [];  // a failed frame leaves nothing to explain
    this.#check(st);
    if (!tracked) {
      this.#faceIndex = null;
      return this.#result(wasmMs);
    }
    return { ...this.#timed({ faces: this.#tracks() }, wasmMs), tracking: this.trackerStats() };
  }

  /** Copies `pixels` (interleaved 8-bit, `format`) into the frame buffer and runs. */
  predict(pixels, width, height, format = 'rgba', opts = {}) {
    this.#alive();
    if (!(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray)) {
      throw invalid('pixels must be a Uint8Array or Uint8ClampedArray');
    }
    const fmt = PIXEL_FORMATS[format];
    if (fmt === undefined) throw invalid(`unknown pixel format "${format}"`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw invalid(`image size must be positive integers, got ${width}x${height}`);
    }
    const stride = width * CHANNELS[fmt];
    if (pixels.length < stride * height) {
      throw invalid(`pixels hold ${pixels.length} bytes, a ${width}x${height} ${format} image needs ${stride * height}`);
    }
    this.frameView(stride * height).set(pixels.subarray(0, stride * height));
    return this.predictFrame(width, height, stride, format, opts);
  }

  /** LNet's response map of the last predict, or null without LNet. */
  responseMap() {
    this.#alive();
    const st = this.session.responseMap(this.scratch);
    if (st !== 0) return null;
    const d = this.M.HEAPF64.subarray(this.scratch / 8, this.scratch / 8 + 7);
    const [ptr, width, height, originX, originY, cellWidth, cellHeight] = d;
    const data = this.M.HEAPF32.slice(ptr / 4, ptr / 4 + width * height);
    return { data, width, height, originX, originY, cellWidth, cellHeight };
  }

  /**
   * Where attributes come from on face `faceIndex` of the last predict: per
   * attribute (names or indices; default all), its class-activation map.
   * Returns [{attribute, index, p, logit, bias, peak: [x, y], peakValue,
   * map: {box: [x, y, w, h], width, height, cellWidth, cellHeight, values, average, contrast},
   * concepts: [{name, contribution}]}], image pixel coordinates, values a
   * Float32Array of height rows x width (mean(values) + bias = logit), average
   * the attribute's average map over training faces of the other kind: without it
   * (contrast 1) when the face is judged to have it, with it (contrast -1) when judged
   * not to and the model has that average (null and contrast 0 for a model without
   * average maps). The peak is where contrast * (values - average) is largest, else
   * where values is;
   * concepts the terms of the attribute's concept head on this face, largest
   * |contribution| first ([] for a model without concept heads). Runs no
   * network: the SDK keeps the last predict's activations. {crop: true}
   * predictions cannot be explained.
   */
  explain(faceIndex, attrs) {
    this.#alive();
    const idx = this.attributeIndices(attrs);
    if (!Number.isInteger(faceIndex)) throw invalid(`face index must be an integer, got ${faceIndex}`);
    // The SDK would explain the predict before a crop one: refuse instead.
    if (this.#cropped) throw invalid('the last prediction was a {crop: true} one, which keeps no explanations');
    let sdkFace = faceIndex;
    if (this.#faceIndex) {
      // A tracked frame: faces are tracks, each with its face of the session's last predict.
      sdkFace = this.#faceIndex[faceIndex];
      if (sdkFace === undefined) throw invalid(`face index ${faceIndex} is not a face of the last detect (${this.#faceIndex.length} faces)`);
      if (sdkFace < 0) throw invalid(`face ${faceIndex} of the last detect came from updateTracks and has no activations to explain`);
    }
    const s = this.session;
    this.M.HEAP32.set(idx, s.explainAttrsPtr() / 4);
    this.#check(s.explain(sdkFace, idx.length));
    const R = s.explainRecord();
    const base = s.explainResultPtr() / 8;
    const out = [];
    for (let k = 0; k < idx.length; ++k) {
      const d = this.M.HEAPF64.subarray(base + k * R, base + (k + 1) * R);
      const [a, p, logit, bias, width, height, ptr] = d;
      out.push({
        attribute: this.attributes[a].name, index: a, p, logit, bias,
        peak: [d[17], d[18]], peakValue: d[21],
        map: {
          box: [d[7], d[8], d[9], d[10]], width, height, cellWidth: d[11], cellHeight: d[12],
          values: this.M.HEAPF32.slice(ptr / 4, ptr / 4 + width * height),
          average: d[24] ? this.M.HEAPF32.slice(d[24] / 4, d[24] / 4 + width * height) : null,
          contrast: d[25],
        },
        concepts: this.#concepts(d[22], d[23]),
      });
    }
    return out;
  }

  /** Attribute indices of `attrs` (names or indices, one or an array; default all). */
  attributeIndices(attrs) {
    if (attrs == null) return Int32Array.from(this.attributes, (_, i) => i);
    const list = Array.isArray(attrs) ? attrs : [attrs];
    if (list.length > this.nAttributes) throw invalid(`at most ${this.nAttributes} attributes per call`);
    return Int32Array.from(list, (a) => {
      const i = typeof a === 'string' ? this.attributes.findIndex((x) => x.name === a) : a;
      if (!Number.isInteger(i) || i < 0 || i >= this.nAttributes) {
        throw invalid(`unknown attribute ${JSON.stringify(a)}; the model's: ${this.attributes.map((x) => x.name).join(', ')}`);
      }
      return i;
    });
  }

  /** Model metadata (`which`: 0 ANet, 1 LNet), "" when absent. */
  metadata(key, which = 0) {
    this.#alive();
    return this.session.metadata(which, key);
  }

  close() {
    if (!this.session) return;
    this.trackerOptions = null;
    this.session.delete();  // frees the tracker first
    this.session = null;
    if (this.framePtr) this.M._free(this.framePtr);
    this.M._free(this.scratch);
    this.framePtr = 0;
    this.frameBytes = 0;
  }

  #cropped = false;
  #faceIndex = null;  // after a tracked frame: per face (track), its face in the session's last predict
  #lastTs = null;     // stream time of the last tracked frame, ms

  #conceptNames = new Map();  // name address -> string: the session's names live as long as it does

  /** `n` faceattr_concept_contribution at heap address `ptr` (name address at +0, float at +4). */
  #concepts(n, ptr) {
    const out = [];
    const u32 = this.M.HEAPU32, f32 = this.M.HEAPF32;
    for (let k = 0; k < n; ++k) {
      const at = ptr / 4 + 2 * k;
      const nameAt = u32[at];
      let name = this.#conceptNames.get(nameAt);
      if (name === undefined) {
        const u8 = this.M.HEAPU8;
        let end = nameAt;
        while (u8[end] !== 0) ++end;
        // slice: a copy, which TextDecoder accepts also when the heap is shared (threads flavour).
        name = new TextDecoder().decode(u8.slice(nameAt, end));
        this.#conceptNames.set(nameAt, name);
      }
      out.push({ name, contribution: f32[at + 1] });
    }
    return out;
  }

  #alive() {
    if (!this.session) throw new FaceAttrError('the session is closed', 'FACEATTR_ERR_INVALID_ARGUMENT');
  }

  #check(st) {
    if (st === 0) return;
    const code = this.M.statusString(st);
    throw new FaceAttrError(this.M.lastError() || code, code);
  }

  #needTracker() {
    if (!this.trackerOptions) throw invalid('this session has no tracker (it was created with track: false)');
  }

  /**
   * The SDK's timestamp for the next tracked frame: `ts` (ms) when it is later
   * than the last frame's; otherwise (none given, or a clip that loops and starts
   * its times again) -1, which the SDK takes as 1000 / fps after the last frame.
   */
  #streamTime(ts) {
    if (typeof ts === 'number' && Number.isFinite(ts) && ts >= 0 && (this.#lastTs === null || ts > this.#lastTs)) {
      this.#lastTs = ts;
      return ts;
    }
    this.#lastTs = this.#lastTs === null ? 0 : this.#lastTs + 1000 / this.trackerOptions.fps;
    return -1;
  }

  /** The track records of the last track / update call as faces; notes each one's face for explain. */
  #tracks() {
    const s = this.session;
    const heap = this.M.HEAPF64;
    const base = s.trackResultPtr() / 8;
    const n = heap[base];
    const R = s.trackStride();
    const H = s.trackHead();
    const na = this.nAttributes;
    const faces = [];
    this.#faceIndex = [];
    for (let t = 0; t < n; ++t) {
      const d = heap.subarray(base + 1 + t * R, base + 1 + (t + 1) * R);
      const attributes = new Array(na);
      for (let a = 0; a < na; ++a) {
        attributes[a] = { name: this.attributes[a].name, probability: d[H + a], present: d[H + na + a] !== 0 };
      }
      faces.push({
        box: { x: d[1], y: d[2], width: d[3], height: d[4] },
        score: d[9],
        attributes,
        track: d[0],
        age: d[10],
        rawBox: { x: d[5], y: d[6], width: d[7], height: d[8] },
      });
      this.#faceIndex.push(d[11]);
    }
    return faces;
  }

  #timed(result, wasmMs) {
    const M = this.M;
    this.session.lastTimings(this.scratch);
    const t = M.HEAPF64.subarray(this.scratch / 8, this.scratch / 8 + 3);
    return {
      ...result,
      backend: this.backend,
      timings: { preprocessMs: t[0], lnetMs: t[1], anetMs: t[2], wasmMs },
    };
  }

  #result(wasmMs) {
    const M = this.M;
    const base = this.session.resultPtr() / 4;
    const heap = M.HEAPF32;
    const n = heap[base];
    const na = this.nAttributes;
    const faces = [];
    for (let f = 0; f < n; ++f) {
      const o = base + 1 + f * this.stride;
      const attributes = new Array(na);
      for (let a = 0; a < na; ++a) {
        attributes[a] = { name: this.attributes[a].name, probability: heap[o + 5 + a], present: heap[o + 5 + na + a] !== 0 };
      }
      faces.push({ box: { x: heap[o], y: heap[o + 1], width: heap[o + 2], height: heap[o + 3] }, score: heap[o + 4], attributes });
    }
    return this.#timed({ faces }, wasmMs);
  }
}

function now() {
  return globalThis.performance ? performance.now() : Date.now();
}
