// Web Worker side of FaceAttr (faceattr.js): one Runner, requests answered in order.
// Messages in:  {op: 'load', flavour, distUrl, threads} (no reply: starts fetching and compiling the
//               module while the page still fetches the models) | {id, op: 'init', options} |
//               {id, op: 'detect', source, crop, responseMap, track, timestamp} | {id, op: 'explain', face, attrs} |
//               {id, op: 'resetTracks'} | {id, op: 'setThresholds', thresholds} | {id, op: 'loseDevice'} (test hook) |
//               {id, op: 'close'}
// Messages out: {id, result} | {id, error: {message, code}}; result float arrays are transferred.
import { loadModule } from './core.js';
import { Runner } from './runner.js';

let runner = null;
let loading = null;  // {flavour, distUrl, threads, promise}

// One request at a time, in arrival order (detect awaits VideoFrame copies).
let queue = Promise.resolve();
self.onmessage = (ev) => {
  queue = queue.then(() => handle(ev));
};

async function handle(ev) {
  const { id, op } = ev.data;
  try {
    let result;
    if (op === 'load') {
      const { flavour, distUrl, threads } = ev.data;
      loading = { flavour, distUrl, threads, promise: loadModule(flavour, { distUrl, threads }) };
      loading.promise.catch(() => {});  // reported by 'init'
      return;
    }
    if (op === 'init') {
      runner = await Runner.create(ev.data.options, loading);
      result = runner.info();
    } else if (op === 'detect') {
      const { source } = ev.data;
      try {
        const { crop, responseMap, track, timestamp } = ev.data;
        result = await runner.detect(source, { crop, responseMap, track, timestamp });
      } finally {
        // Transferred bitmaps and frames are ours: release them at once.
        if (source && typeof source.close === 'function') source.close();
      }
    } else if (op === 'explain') {
      result = runner.explain(ev.data.face, ev.data.attrs);
    } else if (op === 'resetTracks') {
      runner.resetTracks();
      result = true;
    } else if (op === 'setThresholds') {
      result = runner.setThresholds(ev.data.thresholds);
    } else if (op === 'loseDevice') {
      if (runner) runner.loseDevice();
      result = runner ? runner.info() : null;
    } else if (op === 'close') {
      if (runner) runner.close();
      runner = null;
      result = true;
    } else {
      throw new Error(`unknown op ${op}`);
    }
    self.postMessage({ id, result }, floatBuffers(result));
  } catch (err) {
    self.postMessage({ id, error: { message: String(err && err.message || err), code: err && err.code } });
  }
}

/** The buffers of the maps in a result (each its own copy out of the wasm heap): moved, not cloned. */
function floatBuffers(result) {
  if (Array.isArray(result)) return result.flatMap((e) => [e.map.values.buffer, ...(e.map.average ? [e.map.average.buffer] : [])]);
  return result && result.responseMap ? [result.responseMap.data.buffer] : [];
}
