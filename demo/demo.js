// The webcam demo: live video (or a dropped image) -> FaceAttr.detect -> boxes
// and 40 attribute bars. Query options: ?threads=N (1: single-threaded flavour),
// ?worker=0 (run on the page), ?lnet=0 (whole-frame mode: the frame is one face;
// by default the shipped LNet, models/lnet-int8.fam, localises every face and a box
// is drawn for each, up to the session's maxFaces), ?source=image,
// ?backend=auto|webgpu|wasm (also switchable on the page: the session is recreated),
// ?track=0 (start with tracking off). Camera frames are tracked by default (the
// package's track: 'auto'): each box is labelled with its track id (#3) and the
// bars show the track's smoothed attributes; the "Track faces" box turns it off
// (each frame on its own) and, ticked again, starts a new stream (ids from 1).
// Clicking an attribute bar overlays that attribute's map on the face (explain,
// called for the shown face and that attribute only, once per frame); clicking it
// again hides it; beside the bars it lists that attribute's top concepts on the
// face (the explanation's concept terms: name, signed share of the logit). The
// "Localiser map" box overlays LNet's response map.
import { FaceAttr } from '/web/src/faceattr.js';
import { Overlay, attributeColours, heat, trackColour } from './overlay.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ANET = '/models/anet-int8.fam';
const LNET = '/models/lnet-int8.fam';

// State the browser tests read (tests/web/).
const state = (window.faceattrDemo = {
  ready: false, error: null, backend: null, mode: null, frames: 0, firstResultMs: null, createMs: null,
  lastResult: null, hasLocalizer: false, marks: {},  // performance.now() of start-up steps
  explained: null,     // the attribute whose map is shown (its bar clicked), or null
  explanation: null,   // {attribute, face, p, peak, map: {box, width, height}, concepts} drawn last
  concepts: [],        // [{name, contribution}] listed last (the explained attribute's top TOP_CONCEPTS)
  responseMap: false,  // the localiser-map box is ticked
  tracking: params.get('track') !== '0',  // camera frames go through the tracker ("Track faces")
  trackIds: [],        // track ids of the faces drawn last (empty when not tracked)
  mapDrawn: null,      // {width, height} of the response map drawn last, or null
  frameMs: [],         // per camera frame: detect + explain + drawing, ms (the last 300)
  explainMs: [],       // per explain() call: the round trip, ms (the last 300)
});
const mark = (name) => { state.marks[name] ??= performance.now(); };

const TOP_CONCEPTS = 3;  // concept terms listed per explained attribute

let fa = null;
let mode = 'camera';
let running = false;
let stream = null;
let fpsEma = null;
let selectedFace = -1;  // face whose bars are shown (click a box); -1: the most confident
let selectedTrack = 0;  // on tracked frames, the clicked face's track id (kept across frames); 0: none
let lastDone = 0;
let inflight = Promise.resolve();  // the detect under way (a backend switch waits for it)
let createOpts = null;
let overlay = null;
let shown = null;  // what render() drew last: {result, frameWidth, frameHeight, displayEl}

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function buildBars(attributes) {
  const ol = $('attrs');
  ol.textContent = '';
  for (const a of attributes) {
    const li = document.createElement('li');
    li.dataset.name = a.name;
    li.innerHTML = '<span class="name"></span><span class="bar"><i></i></span><span class="p">–</span>';
    li.querySelector('.name').textContent = a.name.replaceAll('_', ' ');
    li.title = 'show where this attribute comes from on the face (click again to hide)';
    li.onclick = () => toggleExplain(a.name);
    ol.appendChild(li);
  }
}

// Shows (or, clicked again, hides) the map of attribute `name`. On a still image
// the map comes at once; on the camera with the next frame.
function toggleExplain(name) {
  state.explained = state.explained === name ? null : name;
  for (const li of $('attrs').children) li.classList.toggle('explained', li.dataset.name === state.explained);
  if (mode === 'image' && shown) refreshStill().catch((e) => setStatus(`explain failed: ${e.message}`, true));
  else if (!state.explained && shown) render(shown.result, shown.frameWidth, shown.frameHeight, shown.displayEl, null);
}

async function refreshStill() {
  const { result, frameWidth, frameHeight, displayEl } = shown;
  render(result, frameWidth, frameHeight, displayEl, await explainShown(result));
}

/** Index of the face whose bars are shown: the one clicked (its track), else the most confident; -1 with none. */
function shownFace(faces) {
  if (selectedTrack) {
    const i = faces.findIndex((f) => f.track === selectedTrack);
    if (i >= 0) return i;
  } else if (faces[selectedFace]) {
    return selectedFace;
  }
  let best = -1;
  faces.forEach((f, i) => { if (best < 0 || f.score > faces[best].score) best = i; });
  return best;
}

/** The clicked attribute's map on the shown face of `result` (the last detect), or null. */
async function explainShown(result) {
  const face = shownFace(result.faces);
  if (!state.explained || face < 0 || !fa) return null;
  try {
    const t0 = performance.now();
    const [e] = await fa.explain(face, state.explained);
    state.explainMs.push(performance.now() - t0);
    if (state.explainMs.length > 300) state.explainMs.shift();
    return { ...e, face };
  } catch (e) {
    setStatus(`cannot show ${state.explained}: ${e.message}`, true);
    toggleExplain(state.explained);
    return null;
  }
}

function showResult(result, frameWidth, frameHeight, displayEl, explanation = null) {
  state.lastResult = result;
  state.frames += 1;
  if (state.firstResultMs === null) {
    mark('first-result');
    state.firstResultMs = performance.now();
    $('first').textContent = `${state.firstResultMs.toFixed(0)} ms`;
  }
  render(result, frameWidth, frameHeight, displayEl, explanation);
}

function render(result, frameWidth, frameHeight, displayEl, explanation = null) {
  shown = { result, frameWidth, frameHeight, displayEl };
  const faces = result.faces;
  drawOverlays(result, frameWidth, frameHeight, displayEl, explanation);
  $('nfaces').textContent = String(faces.length);
  // Boxes, from frame pixels to the displayed element (object-fit: contain letterboxes).
  const scale = Math.min(displayEl.clientWidth / frameWidth, displayEl.clientHeight / frameHeight);
  const ox = (displayEl.clientWidth - frameWidth * scale) / 2;
  const oy = (displayEl.clientHeight - frameHeight * scale) / 2;
  const boxes = $('boxes');
  boxes.textContent = '';
  state.trackIds = faces.filter((f) => f.track).map((f) => f.track);
  faces.forEach((f, i) => {
    const d = document.createElement('div');
    d.className = 'face-box';
    d.title = 'show this face\'s attributes';
    d.onclick = () => {
      selectedFace = i;
      selectedTrack = f.track ?? 0;
      if (mode === 'image' && state.explained) refreshStill().catch(() => {});
      else render(result, frameWidth, frameHeight, displayEl);
    };
    d.style.left = `${ox + f.box.x * scale}px`;
    d.style.top = `${oy + f.box.y * scale}px`;
    d.style.width = `${f.box.width * scale}px`;
    d.style.height = `${f.box.height * scale}px`;
    const label = document.createElement('span');
    // A tracked face is named by its track id (the same face keeps it from frame to frame).
    label.textContent = `${f.track ? `#${f.track}` : `face ${i + 1}`} · ${(f.score * 100).toFixed(0)}%`;
    if (f.track) {
      d.dataset.track = String(f.track);
      d.style.borderColor = label.style.background = trackColour(f.track);
    }
    d.appendChild(label);
    boxes.appendChild(d);
  });
  // Bars of the face clicked last (by number), else of the most confident one.
  const best = faces[shownFace(faces)] ?? null;
  const name = (f) => (f.track ? `#${f.track}, smoothed` : faces.length > 1 ? `face ${faces.indexOf(f) + 1}` : '');
  $('which-face').textContent = best ? (name(best) ? `(${name(best)})` : '') : '(no face)';
  const items = $('attrs').children;
  for (let i = 0; i < items.length; ++i) {
    const a = best ? best.attributes[i] : null;
    items[i].classList.toggle('present', !!(a && a.present));
    items[i].dataset.present = a && a.present ? '1' : '0';
    items[i].querySelector('i').style.width = a ? `${(a.probability * 100).toFixed(1)}%` : '0';
    items[i].querySelector('.p').textContent = a ? a.probability.toFixed(2) : '–';
  }
  const engine = result.backend === 'webgpu' ? 'WebGPU' : 'wasm';
  $('latency').textContent = `${result.timings.totalMs.toFixed(1)} ms (${engine} ${result.timings.wasmMs.toFixed(1)})`;
  if (result.backend !== state.backend) showBackend();  // e.g. the GPU was lost: wasm goes on
}

// The heat maps over the frame: the response map (box ticked), then the explained attribute's map.
function drawOverlays(result, frameWidth, frameHeight, displayEl, explanation) {
  overlay.begin(displayEl, frameWidth, frameHeight);
  const m = state.responseMap ? result.responseMap : null;
  if (m) {
    overlay.drawGrid(m.data, m.width, m.height, [m.originX, m.originY, m.width * m.cellWidth, m.height * m.cellHeight],
                     (v) => heat(v, 0.55), [0, 0, frameWidth, frameHeight]);
  }
  state.mapDrawn = m ? { width: m.width, height: m.height } : null;
  const info = $('explain-info');
  if (explanation) {
    const { map, peak } = explanation;
    // What the peak marks: the map against the attribute's average map (contrast: its sign), where the model has one.
    const shown = map.average ? map.values.map((v, i) => map.contrast * (v - map.average[i])) : map.values;
    overlay.drawGrid(shown, map.width, map.height, map.box, attributeColours(shown), [0, 0, frameWidth, frameHeight]);
    overlay.marker(peak[0], peak[1]);
    info.textContent = `${explanation.attribute.replaceAll('_', ' ')}: p ${explanation.p.toFixed(2)}` +
                       `${result.faces.length > 1 ? ` (face ${explanation.face + 1})` : ''}; map ${map.width}x${map.height}, peak marked`;
  } else {
    info.textContent = state.explained ? `${state.explained.replaceAll('_', ' ')}: no face` : '';
  }
  showConcepts(explanation ? explanation.concepts.slice(0, TOP_CONCEPTS) : []);
  state.explanation = explanation && {
    attribute: explanation.attribute, face: explanation.face, p: explanation.p, peak: explanation.peak,
    map: { box: explanation.map.box, width: explanation.map.width, height: explanation.map.height },
    concepts: state.concepts,
  };
}

// The explained attribute's top concepts (largest |contribution| first, as explain
// gives them) beside the bars. Rows are made once and updated in place: this runs
// on every camera frame.
function showConcepts(top) {
  const ol = $('concepts');
  while (ol.children.length < top.length) {
    const li = document.createElement('li');
    li.innerHTML = '<span class="name"></span><span class="bar"><i></i></span><span class="c"></span>';
    ol.append(li);
  }
  const scale = Math.max(1e-6, ...top.map((c) => Math.abs(c.contribution)));
  [...ol.children].forEach((li, k) => {
    const c = top[k];
    li.hidden = !c;
    if (!c) return;
    const [name, bar, value] = li.children;
    if (name.textContent !== c.name) name.textContent = name.title = c.name;
    bar.firstChild.style.width = `${(100 * Math.abs(c.contribution) / scale).toFixed(1)}%`;
    value.textContent = `${c.contribution >= 0 ? '+' : '\u2212'}${Math.abs(c.contribution).toFixed(2)}`;
    li.classList.toggle('pos', c.contribution >= 0);
    li.classList.toggle('neg', c.contribution < 0);
  });
  ol.hidden = top.length === 0;
  state.concepts = top.map(({ name, contribution }) => ({ name, contribution }));
}

async function cameraLoop() {
  const video = $('video');
  const step = async () => {
    if (!running || mode !== 'camera') return;
    try {
      if (fa && video.readyState >= 2 && video.videoWidth > 0) {
        const t0 = performance.now();
        const run = fa.detect(video, { responseMap: state.responseMap, track: state.tracking })
          .then(async (r) => [r, await explainShown(r)]);
        inflight = run.catch(() => {});
        const [result, explanation] = await run;
        if (mode !== 'camera') return;
        showResult(result, video.videoWidth, video.videoHeight, video, explanation);
        state.frameMs.push(performance.now() - t0);
        if (state.frameMs.length > 300) state.frameMs.shift();
        const t = performance.now();
        if (lastDone) {
          const fps = 1000 / (t - lastDone);
          fpsEma = fpsEma === null ? fps : 0.9 * fpsEma + 0.1 * fps;
          $('fps').textContent = fpsEma.toFixed(1);
        }
        lastDone = t;
      }
    } catch (e) {
      setStatus(`detect failed: ${e.message}`, true);
    }
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => step());
    else requestAnimationFrame(() => step());
  };
  step();
}

let cameraRequest = null;
function openCamera() {
  if (!cameraRequest) {
    cameraRequest = navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    cameraRequest.catch(() => { cameraRequest = null; });  // a later click asks again
  }
  return cameraRequest;
}

async function startCamera() {
  mode = state.mode = 'camera';
  $('still').hidden = true;
  const video = $('video');
  video.hidden = false;
  try {
    if (!stream) stream = await openCamera();
    video.srcObject = stream;
    mark('camera-stream');
    await video.play();
    mark('camera-playing');
    setStatus(`camera ${video.videoWidth}x${video.videoHeight}`);
    // A new stream of frames: new tracks (ids from 1).
    await inflight;
    if (fa) await fa.resetTracks();
    selectedTrack = 0;
    running = true;
    lastDone = 0;
    cameraLoop();
  } catch (e) {
    setStatus(`no camera (${e.name || e.message}); drop an image file or use "Image…"`, true);
  }
}

async function showImage(file) {
  mode = state.mode = 'image';
  running = false;
  const video = $('video');
  video.pause();
  video.hidden = true;
  const canvas = $('still');
  canvas.hidden = false;
  try {
    // The camera's last detect + explain first: an explain must follow its own detect.
    await inflight;
    const bitmap = await createImageBitmap(file);
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    const result = await fa.detect(bitmap, { responseMap: state.responseMap });
    showResult(result, bitmap.width, bitmap.height, canvas, await explainShown(result));
    bitmap.close();
    $('fps').textContent = '–';
    setStatus(`${file.name || 'image'} ${canvas.width}x${canvas.height}`);
  } catch (e) {
    setStatus(`cannot analyse ${file.name || 'the image'}: ${e.message}`, true);
  }
}

async function lnetAvailable() {
  if (params.get('lnet') === '0') return false;
  try {
    return (await fetch(LNET, { method: 'HEAD' })).ok;
  } catch {
    return false;
  }
}

function showBackend() {
  state.backend = fa.backend;
  const gpu = fa.gpuAdapter;
  const what = fa.backend === 'webgpu'
    ? `WebGPU${gpu ? ` (${[gpu.vendor, gpu.architecture].filter(Boolean).join(' ')}${gpu.fallback ? ', software' : ''})` : ''}`
    : fa.backend;
  $('backend').textContent = `${what}${fa.inWorker ? ' (worker)' : ''}${fa.hasLocalizer ? ' + LNet' : ''}`;
  $('backend').title = fa.backendReason || '';
}

// Creates the session with `backend`; a running one is closed first (the camera keeps going).
async function createSession(backend) {
  const old = fa;
  fa = null;
  if (old) {
    await inflight;
    await old.close();
  }
  try {
    fa = await FaceAttr.create({ ...createOpts, backend });
  } catch (e) {
    if (backend === 'auto') throw e;
    setStatus(`${backend}: ${e.message}; using auto`, true);
    fa = await FaceAttr.create({ ...createOpts, backend: 'auto' });
  }
  showBackend();
  $('backend-select').value = backend;
}

async function main() {
  mark('script');
  const t0 = performance.now();
  const threads = params.has('threads') ? Number(params.get('threads')) : undefined;
  // The camera starts while the module and the models load; its loop waits for `fa`.
  const camera = params.get('source') !== 'image' ? startCamera() : null;
  const lnet = await lnetAvailable();
  createOpts = { model: ANET, lnetModel: lnet ? LNET : null, worker: params.get('worker') !== '0', threads };
  await createSession(params.get('backend') || 'auto');
  state.createMs = performance.now() - t0;
  mark('session');
  state.hasLocalizer = fa.hasLocalizer;
  const toggle = $('lnet-toggle');
  if (toggle) {
    // Switches between localising (the default) and whole-frame mode, keeping the other options.
    const q = new URLSearchParams(location.search);
    if (fa.hasLocalizer) {
      q.set('lnet', '0');
      toggle.textContent = 'Whole frame';
      toggle.title = 'Take the whole frame as one face (no LNet)';
    } else {
      q.delete('lnet');
      toggle.textContent = 'Find faces';
      toggle.title = 'Find every face with LNet';
    }
    toggle.href = `?${q}`;
  }
  state.thresholds = Object.fromEntries(fa.attributes.map((a) => [a.name, a.threshold]));
  buildBars(fa.attributes);
  overlay = new Overlay($('overlay'));
  $('map-toggle').onchange = (e) => {
    state.responseMap = e.target.checked;
    // A still image has no next frame: detect it again, with the map.
    if (mode === 'image' && shown) {
      fa.detect($('still'), { responseMap: state.responseMap }).then(async (r) => showResult(r, shown.frameWidth, shown.frameHeight, shown.displayEl, await explainShown(r)))
        .catch((err) => setStatus(`detect failed: ${err.message}`, true));
    }
  };
  $('track-toggle').checked = state.tracking;
  $('track-toggle').onchange = (e) => {
    // Ticked again: a new stream (ids from 1), once the frame under way is done.
    const on = e.target.checked;
    selectedTrack = 0;
    const turn = on ? inflight.then(() => fa && fa.resetTracks()) : Promise.resolve();
    turn.then(() => { state.tracking = on; }).catch((err) => setStatus(`cannot reset the tracks: ${err.message}`, true));
  };
  $('backend-select').onchange = (e) => {
    const b = e.target.value;
    const q = new URLSearchParams(location.search);
    q.set('backend', b);
    history.replaceState(null, '', `?${q}`);
    createSession(b).catch((err) => setStatus(`cannot switch to ${b}: ${err.message}`, true));
  };
  state.ready = true;
  $('camera-btn').onclick = () => startCamera();
  $('file').onchange = (e) => e.target.files[0] && showImage(e.target.files[0]);
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const f = [...e.dataTransfer.files].find((x) => x.type.startsWith('image/'));
    if (f) showImage(f);
  });
  if (camera) await camera;
  else setStatus('drop an image file or use "Image…"');
}

main().catch((e) => {
  state.error = e.message;
  setStatus(`failed to start: ${e.message}`, true);
});
