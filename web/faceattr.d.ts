// Type declarations of the faceattr web package (src/faceattr.js).

/** A model: a URL on the page's own origin, or the model file's bytes. */
export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView;

/**
 * Compute backend. 'webgpu': LNet and ANet as WebGPU compute shaders (create rejects
 * with FACEATTR_ERR_UNSUPPORTED without an adapter); 'wasm': WebAssembly SIMD only;
 * 'auto' (default): WebGPU on a hardware adapter, else wasm (a software adapter
 * such as SwiftShader is slower than wasm SIMD).
 */
export type Backend = 'auto' | 'wasm' | 'webgpu';

/**
 * Which of the model's decision thresholds decide `present`. 'accuracy' (every model):
 * each attribute's most accurate threshold. 'balanced' (models whose file carries
 * balanced_thresholds): its equal-error-rate threshold, best balanced accuracy, so rare
 * attributes are reported more often.
 */
export type ThresholdPolicy = 'accuracy' | 'balanced';

/** What runs the networks: WebGPU, or a wasm module flavour. */
export type BackendInUse = 'webgpu' | 'wasm-simd' | 'wasm-simd-threads';

/** The WebGPU adapter in use (GPUAdapterInfo fields). */
export interface GpuAdapter {
  vendor: string;
  architecture: string;
  description: string;
  /** A software (fallback) adapter, e.g. SwiftShader. */
  fallback: boolean;
}

export interface CreateOptions {
  /** ANet model (.fam), e.g. '/models/anet-int8.fam'. Required. */
  model: ModelSource;
  /**
   * Face localiser (.fam). Left out: when `model` is a URL, 'lnet-int8.fam' in its folder if the
   * server has it (the shipped localiser). With a localiser detect() localises every face of the
   * frame; null, or none found, takes the frame, centre-cropped, as one face with score 1.
   */
  lnetModel?: ModelSource | null;
  /** With a localiser: localise faces (default true); false takes each frame as one face crop. */
  localize?: boolean;
  /** Default 'auto'. */
  backend?: Backend;
  /** Run in a Web Worker (default true) so the page never stalls. */
  worker?: boolean;
  /**
   * Kernel threads. More than 1 needs a cross-origin isolated page (COOP/COEP),
   * else the single-threaded SIMD flavour runs. Default: min(4, hardwareConcurrency)
   * when isolated, else 1. 1 forces the single-threaded flavour.
   */
  threads?: number;
  /** Cap on faces per frame (default 32). */
  maxFaces?: number;
  /** Smallest face side in pixels the localiser reports (default 24). */
  minFaceSize?: number;
  /** CPU kernels inside the module (default 'auto' = 'simd'); 'reference' for checks. */
  kernels?: 'auto' | 'simd' | 'reference';
  /** Folder of the module files (default: ../dist/ next to the package's src/). Same origin. */
  distUrl?: string | URL;
  /**
   * Which detect() calls are frames of one tracked stream (each face then keeps a
   * track id, a smoothed box and averaged attributes): 'auto' (default) those on an
   * HTMLVideoElement or a VideoFrame, true every call, false none (no tracker is
   * created). detect(source, {track}) decides for one call.
   */
  track?: 'auto' | boolean;
  /** Tracker options; the SDK's defaults for those left out. */
  tracker?: TrackerOptions;
  /**
   * Decision thresholds (default 'accuracy'). 'balanced' rejects with FACEATTR_ERR_UNSUPPORTED
   * for a model without them. FaceAttr.setThresholds changes it later.
   */
  thresholds?: ThresholdPolicy;
  /**
   * ANet runs per face: 1 (default), or 2: also the face's crop shrunk to 0.9 of its size and
   * mirrored, the two views' log-odds averaged. Twice ANet's time per face; on every backend.
   */
  views?: 1 | 2;
}

/** Options of the tracker (faceattr_tracker_params in the C API). */
export interface TrackerOptions {
  /** Frame rate assumed for frames without an increasing timestamp; default 30. */
  fps?: number;
  /** One Euro filter of the box: cutoff at rest in Hz (default 0.5), speed coefficient (3), derivative cutoff in Hz (1.0). */
  minCutoff?: number;
  beta?: number;
  dCutoff?: number;
  /** Frames in each attribute's score-weighted average, 1..64; default 8. */
  window?: number;
  /** Hysteresis margin of the decisions, [0, 0.5); default 0.1 (see the SDK's faceattr_tracker_params). */
  hysteresis?: number;
  /** Least box overlap (IoU) that continues a track, (0, 1]; default 0.3. */
  matchIou?: number;
  /** Least cosine similarity of ANet features that continues a track (0: no test); default 0.5. Not used on WebGPU. */
  appearanceMin?: number;
  /** Frames a track lives unseen before it ends; default 10. */
  maxMissed?: number;
  /** Tracks at once; default 0: maxFaces with a localiser, 1 without (one face per frame). */
  maxTracks?: number;
  /** A full localiser pass at least every this many frames (1: every frame); default 6. wasm only. */
  detectInterval?: number;
  /** A local search finding no face of at least this score loses the track for it; default 0.5. wasm only. */
  localMinScore?: number;
}

export interface Box {
  /** Top-left corner and size in frame pixels (may extend past the frame). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Attribute {
  /** CelebA attribute name, e.g. 'Smiling'. */
  name: string;
  /** Probability in [0, 1]. */
  probability: number;
  /** probability >= the model's threshold for this attribute under the thresholds in use (FaceAttr.thresholds). */
  present: boolean;
}

export interface Face {
  /** On a tracked frame: the track's smoothed box (One Euro filter). */
  box: Box;
  /** Face confidence in [0, 1] on this frame; 1 without a localiser. */
  score: number;
  /**
   * All attributes of the model (40 for CelebA), in the model's order. On a
   * tracked frame: probability is the track's score-weighted average over the
   * last `window` frames, present its decision with hysteresis.
   */
  attributes: Attribute[];
  /** Tracked frames only: the track id, >= 1, the same for the same face on later frames until resetTracks(). */
  track?: number;
  /** Tracked frames only: frames since the track started (0 on its first). */
  age?: number;
  /** Tracked frames only: this frame's detection, before smoothing. */
  rawBox?: Box;
}

/** The tracker's counters since create or resetTracks(). */
export interface TrackingStats {
  /** Frames the tracker has seen. */
  frames: number;
  /** Frames on which the wasm session ran the localiser on the whole frame (WebGPU frames are not counted). */
  fullPasses: number;
  /** Frames served by local searches near the tracked boxes alone (wasm only; 0 on WebGPU). */
  localPasses: number;
  /** Tracks started (the largest id so far). */
  tracksStarted: number;
}

export interface Timings {
  /** Stages inside the SDK, milliseconds. */
  preprocessMs: number;
  lnetMs: number;
  anetMs: number;
  /** The engine call as a whole (wasm; with 'webgpu' including the GPU runs and read-backs). */
  wasmMs: number;
  /** 'webgpu' only: command buffers submitted for the frame (LNet, then one ANet batch for all faces). */
  gpuSubmits?: number;
  /** detect() from call to result, including the trip to the worker. */
  totalMs: number;
}

/**
 * The localiser's face response map of a frame: `height` rows of `width` cells
 * in [0, 1]; cell (i, j) covers frame pixels x in [originX + j * cellWidth,
 * originX + (j + 1) * cellWidth), likewise y (cells may extend past the frame).
 */
export interface ResponseMap {
  data: Float32Array;
  width: number;
  height: number;
  originX: number;
  originY: number;
  cellWidth: number;
  cellHeight: number;
}

export interface DetectResult {
  faces: Face[];
  backend: BackendInUse;
  timings: Timings;
  /** Set once the GPU has been given up (device lost, GPU error): why; the frame ran on wasm. */
  fallbackReason?: string;
  /** With {responseMap: true}: the localiser's map of the frame; null without a localiser or with crop. */
  responseMap?: ResponseMap | null;
  /** Size of the module's WebAssembly memory after the frame, bytes (it grows, never shrinks). */
  wasmMemoryBytes: number;
  /** Set on tracked frames (faces are tracks): the tracker's counters after this frame. */
  tracking?: TrackingStats;
}

/**
 * An attribute's class-activation map on a face: ANet's last feature map times
 * the attribute's weights, cell by cell; mean(values) + bias = logit.
 */
export interface AttributeMap {
  /** The frame area the cells tile: [x, y, width, height] in frame pixels (may extend past the frame). */
  box: [number, number, number, number];
  width: number;
  height: number;
  /** box[2] / width, box[3] / height. */
  cellWidth: number;
  cellHeight: number;
  /** height rows of width values, row-major; cell (i, j) is centred at (box[0] + (j + 0.5) * cellWidth, ...). */
  values: Float32Array;
  /**
   * The attribute's map averaged over training faces of the other kind, same layout
   * (models with explain.average_maps metadata), or null: over faces without it
   * when this face is judged to have it (contrast 1), over faces with it when judged
   * not to (contrast -1). The peak is where contrast * (values - average) is
   * largest: cells every face favours say nothing about this one.
   */
  average: Float32Array | null;
  /** 1 or -1 (see average); 0 when average is null. */
  contrast: number;
}

export interface Explanation {
  /** Attribute name, e.g. 'Smiling', and its index in the model's order. */
  attribute: string;
  index: number;
  /** The face's probability of the attribute (as detect() reported it). */
  p: number;
  /** The value the sigmoid read. */
  logit: number;
  /** The classifier's bias. */
  bias: number;
  /**
   * Where the map peaks, frame pixels (the arg-max cell of contrast * (values -
   * average), or of values without an average map, refined to within half a cell).
   */
  peak: [number, number];
  peakValue: number;
  map: AttributeMap;
  /**
   * The terms of the attribute's concept head on this face (models trained with
   * concept heads: groups of ANet's last-layer units, named like
   * 'bottom: Smiling+ High_Cheekbones+'), largest |contribution| first; empty
   * for a model without concept heads.
   */
  concepts: ConceptContribution[];
}

/** One concept's share of an attribute's logit: weight x the concept's activation (positive: evidence for it). */
export interface ConceptContribution {
  name: string;
  contribution: number;
}

// VideoFrame and OffscreenCanvas by lookup, so the declarations also compile with
// DOM typings that predate them (TypeScript < 4.9 / 5.0); there they are `never`.
type GlobalInstance<K extends string> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : never;
export type VideoFrameLike = GlobalInstance<'VideoFrame'>;
export type OffscreenCanvasLike = GlobalInstance<'OffscreenCanvas'>;

export type FrameSource =
  | ImageData
  | HTMLVideoElement
  | VideoFrameLike
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvasLike;

export interface DetectOptions {
  /** Take the whole frame as one face crop (ANet alone, no localiser). */
  crop?: boolean;
  /** Also return the localiser's response map of the frame (DetectResult.responseMap). */
  responseMap?: boolean;
  /** Whether this frame is the next of the tracked stream (default: the create option `track`; never with crop). */
  track?: boolean;
  /**
   * The frame's time in ms (default: a VideoFrame's timestamp, else performance.now()).
   * A time not later than the last frame's counts as 1000 / fps after it.
   */
  timestamp?: number;
}

/** An SDK error; `code` is the status name, e.g. 'FACEATTR_ERR_INVALID_ARGUMENT'. */
export class FaceAttrError extends Error {
  readonly code: string;
}

export class FaceAttr {
  /** Fetches the models (same origin only), loads the module, creates the session. */
  static create(options: CreateOptions): Promise<FaceAttr>;
  /** Faces with boxes and attributes. Rejects with FaceAttrError on bad input; the instance stays usable. */
  detect(source: FrameSource, options?: DetectOptions): Promise<DetectResult>;
  /**
   * Attribute maps of face `faceIndex` of the last detect(), for `attrs` (names or
   * indices; default all), from that detect's activations (no network runs).
   * Rejects with FACEATTR_ERR_UNSUPPORTED while the 'webgpu' backend runs.
   */
  explain(faceIndex: number, attrs?: string | number | ReadonlyArray<string | number>): Promise<Explanation[]>;
  /** Starts a new stream: forgets every track (ids start from 1 again) and the tracker's counters. */
  resetTracks(): Promise<void>;
  /**
   * Switches the decision thresholds for later detect() calls (present, attributes[].threshold,
   * the tracker's decisions: a track decides afresh on its next frame). Rejects with
   * FACEATTR_ERR_UNSUPPORTED when the model has no such thresholds (see thresholdPolicies).
   */
  setThresholds(policy: ThresholdPolicy): Promise<void>;
  /** Frees the session and ends the worker. */
  close(): Promise<void>;
  /** What runs the networks now; switches from 'webgpu' to wasm when the GPU is lost. */
  readonly backend: BackendInUse;
  /** Why this backend: 'requested', why 'auto' chose it, or why the GPU was given up. */
  readonly backendReason: string;
  /** The WebGPU adapter while backend is 'webgpu', else null. */
  readonly gpuAdapter: GpuAdapter | null;
  /** Test/demo hook: destroys the WebGPU device (as a GPU reset would); later frames run on wasm. */
  loseGpuDevice(): Promise<void>;
  /** Attribute names and the thresholds in use, in the model's order. */
  readonly attributes: ReadonlyArray<{ name: string; threshold: number }>;
  /** The decision thresholds in use. */
  readonly thresholds: ThresholdPolicy;
  /** The policies the model has thresholds for ('accuracy' always). */
  readonly thresholdPolicies: ReadonlyArray<ThresholdPolicy>;
  /** True when detect() localises faces (an lnetModel, localize not false). */
  readonly hasLocalizer: boolean;
  readonly inWorker: boolean;
  /** The create option `track`: which detect() calls are tracked. */
  readonly track: 'auto' | boolean;
  /** The tracker's options, every one (defaults filled in); null with track: false. */
  readonly trackerOptions: Readonly<Required<TrackerOptions>> | null;
}

/** True when the page can run the threads flavour (SharedArrayBuffer + crossOriginIsolated). */
export function threadsSupported(): boolean;
