// The tracker through the package's engine (web/src/core.js -> wasm/binding.cpp
// -> faceattr_tracker_*), in node on the SIMD flavour. No native CLI: the
// reference is the same module's untracked predict on the same frames.
//
// Frames: the benchmarks' 320x240 scene (one test-crop face the shipped LNet
// finds), the face moved by a few pixels from frame to frame, as a hand-held
// camera would; 30 fps timestamps.
//  - One face over a moving sequence keeps track id 1 (every frame a full pass,
//    and with the default options, local searches between full passes).
//  - Every frame a full pass: the raw box is the untracked predict's box; the
//    attributes are the score-weighted average of the untracked probabilities
//    over the last `window` frames (within float rounding); decisions follow the
//    average wherever it is more than 2 x `hysteresis` from the threshold (the
//    SDK's band is at most that wide on either side); the
//    smoothed box moves less than the raw one; explain() on a track explains
//    this frame's face.
//  - A face gone for longer than maxMissed frames comes back as a new track;
//    resetTracks() restarts ids at 1 and the counters at 0.
//  - updateTracks (what the WebGPU backend feeds): ids follow moving boxes,
//    averages and hysteresis on given probabilities, exactly.
//  - Options: defaults read back, bad values and names refused, track: false.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MODELS, benchScene, loadEngineModule, shiftFrame } from './lib.mjs';

const W = 320, H = 240;
const ANET = fs.readFileSync(path.join(MODELS, 'anet-int8.fam'));
const LNET_FILE = path.join(MODELS, 'lnet-int8.fam');
const noLnet = !fs.existsSync(LNET_FILE) && 'no models/lnet-int8.fam';
const LNET = noLnet ? null : fs.readFileSync(LNET_FILE);
const { core, module } = await loadEngineModule('simd');

const scene = await benchScene(W, H);
// A hand-held camera: the face wanders by up to 4 px, back and forth.
const SHIFTS = [[0, 0], [3, 1], [-2, 2], [4, -1], [-3, -2], [1, 3], [-4, 0], [2, -3], [0, 2], [3, 0],
                [-1, -1], [4, 2], [-2, 1], [1, -2], [-3, 3], [2, 0]];
const frames = SHIFTS.map(([dx, dy]) => shiftFrame(scene, W, H, dx, dy));
const blank = shiftFrame(scene, W, H, 0, 0).fill(100);  // no face
const FRAME_MS = 1000 / 30;

const centre = (b) => [b.x + b.width / 2, b.y + b.height / 2];
const travel = (boxes) => boxes.slice(1).reduce((s, b, k) => {
  const [x0, y0] = centre(boxes[k]);
  const [x1, y1] = centre(b);
  return s + Math.hypot(x1 - x0, y1 - y0);
}, 0);

test('every frame a full pass: one track id, raw boxes as predict, probabilities averaged over the window', { skip: noLnet }, () => {
  const tracked = core.Engine.create(module, { model: ANET, lnetModel: LNET, tracker: { detectInterval: 1 } });
  const plain = core.Engine.create(module, { model: ANET, lnetModel: LNET, track: false });
  try {
    const { window, hysteresis } = tracked.trackerOptions;
    assert.equal(window, 8);
    const thresholds = tracked.attributes.map((a) => a.threshold);
    const raw = [], smooth = [], rawBoxes = [];
    let banded = 0, decided = 0;
    frames.forEach((px, k) => {
      const r = tracked.predict(px, W, H, 'rgba', { track: true, timestamp: k * FRAME_MS });
      const p = plain.predict(px, W, H, 'rgba');
      assert.equal(p.faces.length, 1, `frame ${k}: the shipped LNet finds the face`);
      assert.equal(r.faces.length, 1, `frame ${k}: one track`);
      const f = r.faces[0];
      assert.equal(f.track, 1, `frame ${k}: the same track`);
      assert.equal(f.age, k);
      assert.deepEqual(r.tracking, { frames: k + 1, fullPasses: k + 1, localPasses: 0, tracksStarted: 1 });
      // This frame's detection is the untracked predict's face.
      for (const key of ['x', 'y', 'width', 'height']) {
        assert.ok(Math.abs(f.rawBox[key] - p.faces[0].box[key]) <= 1e-3, `frame ${k}: raw box ${key}`);
      }
      assert.ok(Math.abs(f.score - p.faces[0].score) <= 1e-6);
      raw.push(p.faces[0]);
      rawBoxes.push(f.rawBox);
      smooth.push(f.box);
      // Score-weighted average of the raw probabilities over the last `window` frames.
      const last = raw.slice(-window);
      const wsum = last.reduce((s, x) => s + x.score, 0);
      f.attributes.forEach((a, i) => {
        const expect = last.reduce((s, x) => s + x.score * x.attributes[i].probability, 0) / wsum;
        assert.ok(Math.abs(a.probability - expect) <= 1e-5, `frame ${k} ${a.name}: ${a.probability} vs window average ${expect}`);
        if (Math.abs(a.probability - thresholds[i]) > 2 * hysteresis) {
          assert.equal(a.present, a.probability >= thresholds[i], `frame ${k} ${a.name}: decision of the average`);
          ++decided;
        } else {
          ++banded;
        }
      });
    });
    // The face's own motion is the same in both; the smoothed box drops the jitter.
    const rawTravel = travel(rawBoxes), smoothTravel = travel(smooth);
    console.log(`# ${frames.length} frames: box centre travel ${rawTravel.toFixed(1)} px raw, ${smoothTravel.toFixed(1)} px smoothed; ` +
                `${decided} decisions checked, ${banded} within the hysteresis band`);
    assert.ok(smoothTravel < 0.6 * rawTravel, `smoothed travel ${smoothTravel} vs raw ${rawTravel}`);
    // A track's explanation is this frame's face (the session's last predict), not the average.
    const [e] = tracked.explain(0, 'Smiling');
    const smiling = tracked.attributes.findIndex((a) => a.name === 'Smiling');
    assert.ok(Math.abs(e.p - raw.at(-1).attributes[smiling].probability) <= 1e-6, `explained p ${e.p}`);
    assert.throws(() => tracked.explain(1, 'Smiling'), (x) => x.code === 'FACEATTR_ERR_INVALID_ARGUMENT' && /not a face/.test(x.message));
  } finally {
    tracked.close();
    plain.close();
  }
});

test('default options: local searches between full passes keep the one track', { skip: noLnet }, () => {
  const engine = core.Engine.create(module, { model: ANET, lnetModel: LNET });
  try {
    assert.equal(engine.trackerOptions.detectInterval, 6);
    let last = null;
    frames.forEach((px, k) => {
      // No timestamps: the SDK steps 1000 / fps per frame.
      last = engine.predict(px, W, H, 'rgba', { track: true });
      assert.deepEqual(last.faces.map((f) => f.track), [1], `frame ${k}`);
      assert.equal(last.faces[0].age, k);
    });
    const s = last.tracking;
    console.log(`# default options, ${s.frames} frames: ${s.fullPasses} full passes, ${s.localPasses} local`);
    assert.equal(s.frames, frames.length);
    assert.equal(s.fullPasses + s.localPasses, s.frames);
    assert.ok(s.localPasses >= frames.length / 2, `local passes ${s.localPasses}`);
    assert.ok(s.fullPasses >= Math.ceil(frames.length / 6), `full passes ${s.fullPasses}`);
    assert.equal(s.tracksStarted, 1);
    // Untracked calls on the same engine leave the stream alone.
    const still = engine.predict(frames[0], W, H, 'rgba');
    assert.equal(still.faces[0].track, undefined);
    assert.equal(still.tracking, undefined);
    assert.deepEqual(engine.trackerStats(), s);
  } finally {
    engine.close();
  }
});

test('a face gone longer than maxMissed comes back as a new track; resetTracks restarts ids at 1', { skip: noLnet }, () => {
  const engine = core.Engine.create(module, { model: ANET, lnetModel: LNET, tracker: { maxMissed: 2 } });
  try {
    const ids = (px) => engine.predict(px, W, H, 'rgba', { track: true }).faces.map((f) => f.track);
    assert.deepEqual([0, 1, 2].map((k) => ids(frames[k])), [[1], [1], [1]]);
    assert.deepEqual([0, 1, 2, 3].map(() => ids(blank)), [[], [], [], []], 'no face, no track seen');
    assert.deepEqual(ids(frames[3]), [2], 'a new track after 4 frames without the face');
    assert.equal(engine.trackerStats().tracksStarted, 2);
    engine.resetTracks();
    assert.deepEqual(engine.trackerStats(), { frames: 0, fullPasses: 0, localPasses: 0, tracksStarted: 0 });
    const r = engine.predict(frames[4], W, H, 'rgba', { track: true, timestamp: 5 });
    assert.deepEqual(r.faces.map((f) => [f.track, f.age]), [[1, 0]], 'ids from 1 after a reset');
    assert.equal(r.tracking.frames, 1);
    // Timestamps that go back (a looping clip) are taken as the next frame, not refused.
    assert.deepEqual(engine.predict(frames[5], W, H, 'rgba', { track: true, timestamp: 1 }).faces.map((f) => f.track), [1]);
  } finally {
    engine.close();
  }
});

test('whole-frame mode (no LNet): the frame is one track; probabilities averaged over alternating photos', () => {
  // appearanceMin 0: the two photos are one face, but this test is about the averaging alone.
  const tracked = core.Engine.create(module, { model: ANET, tracker: { window: 4, appearanceMin: 0 } });
  const plain = core.Engine.create(module, { model: ANET, track: false });
  try {
    const a = frames[0], b = shiftFrame(scene, W, H, 40, 0);
    const pa = plain.predict(a, W, H, 'rgba').faces[0].attributes.map((x) => x.probability);
    const pb = plain.predict(b, W, H, 'rgba').faces[0].attributes.map((x) => x.probability);
    let r;
    for (let k = 0; k < 6; ++k) r = tracked.predict(k % 2 ? b : a, W, H, 'rgba', { track: true });
    assert.deepEqual(r.faces.map((f) => [f.track, f.age]), [[1, 5]]);
    r.faces[0].attributes.forEach((x, i) => {
      const expect = (pa[i] + pb[i]) / 2;  // the last 4 frames: a, b, a, b, score 1 each
      assert.ok(Math.abs(x.probability - expect) <= 1e-6, `${x.name}: ${x.probability} vs ${expect}`);
    });
  } finally {
    tracked.close();
    plain.close();
  }
});

test('updateTracks (faces found elsewhere, as on WebGPU): ids follow the boxes; exact averages and hysteresis', () => {
  const h = 0.1;
  // A whole-frame session has one face slot: maxTracks makes room for the faces given here.
  const engine = core.Engine.create(module, { model: ANET, tracker: { window: 4, hysteresis: h, maxMissed: 1, maxTracks: 4 } });
  try {
    const na = engine.nAttributes;
    // The attribute whose threshold is nearest 0.5: room for the band on both sides.
    const A = engine.attributes.reduce((b, x, i, all) => (Math.abs(x.threshold - 0.5) < Math.abs(all[b].threshold - 0.5) ? i : b), 0);
    const thr = engine.attributes[A].threshold;
    const face = (x, y, s, pa) => ({
      box: { x, y, width: s, height: s }, score: 1,
      attributes: Array.from({ length: na }, (_, i) => ({ probability: i === A ? pa : 0.5 })),
    });
    // Two faces moving 2 px a frame; attribute A of the first alternates 0.2 / 0.8.
    let r;
    for (let k = 0; k < 6; ++k) {
      r = engine.updateTracks([face(40 + 2 * k, 60, 60, k % 2 ? 0.8 : 0.2), face(200 - 2 * k, 80, 80, 0.5)], k * FRAME_MS);
      assert.deepEqual(r.faces.map((f) => f.track), [1, 2], `frame ${k}`);
    }
    assert.ok(Math.abs(r.faces[0].attributes[A].probability - 0.5) <= 1e-6, 'window of 4: two 0.2s and two 0.8s');
    assert.equal(r.tracking.frames, 6);
    assert.equal(r.tracking.localPasses, 0, 'no local search on faces found elsewhere');
    // A third face appears: a new id; the first leaves and is gone after maxMissed.
    r = engine.updateTracks([face(52, 60, 60, 0.2), face(188, 80, 80, 0.5), face(120, 150, 50, 0.5)], 6 * FRAME_MS);
    assert.deepEqual(r.faces.map((f) => f.track), [1, 2, 3]);
    for (let k = 7; k < 10; ++k) r = engine.updateTracks([face(188, 80, 80, 0.5), face(120, 150, 50, 0.5)], k * FRAME_MS);
    r = engine.updateTracks([face(54, 60, 60, 0.5), face(188, 80, 80, 0.5)], 10 * FRAME_MS);
    assert.deepEqual(r.faces.map((f) => f.track).sort(), [2, 4], 'the first face back after 3 missed frames: a new track');
    // Hysteresis on attribute A of track 1: decided present well above the threshold, kept while
    // the average stays just below it (within h / 2), dropped once it falls more than 2 h below.
    const hi = Math.min(0.99, thr + 0.3), inBand = thr - h / 2, low = Math.max(0.01, thr - 0.3);
    engine.resetTracks();
    const seq = [[hi, true], [hi, true], [hi, true], [hi, true], [inBand, true], [inBand, true], [inBand, true], [inBand, true],
                 [inBand, true], [low, null], [low, null], [low, null], [low, false], [low, false]];
    seq.forEach(([p, want], k) => {
      const [f] = engine.updateTracks([face(100, 100, 60, p)], k * FRAME_MS).faces;
      const avg = f.attributes[A].probability;
      if (want !== null) assert.equal(f.attributes[A].present, want, `step ${k}: p ${p}, average ${avg}, threshold ${thr}`);
      if (avg < thr - 2 * h) assert.equal(f.attributes[A].present, false, `step ${k}: the average ${avg} left the band`);
    });
    // Faces from updateTracks have no activations to explain.
    assert.throws(() => engine.explain(0, 'Smiling'), (e) => e.code === 'FACEATTR_ERR_INVALID_ARGUMENT' && /updateTracks/.test(e.message));
    const tooMany = Array.from({ length: engine.session.maxFaces() + 1 }, () => face(0, 0, 30, 0.5));
    assert.throws(() => engine.updateTracks(tooMany), (e) => e.code === 'FACEATTR_ERR_INVALID_ARGUMENT');
  } finally {
    engine.close();
  }
});

test('tracker options: SDK defaults read back, bad values and names refused, track: false has no tracker', () => {
  const engine = core.Engine.create(module, { model: ANET });
  try {
    assert.deepEqual(Object.keys(engine.trackerOptions), [...core.TRACKER_OPTIONS]);
    const o = engine.trackerOptions;
    assert.deepEqual([o.fps, o.window, o.maxMissed, o.maxTracks, o.detectInterval], [30, 8, 10, 0, 6]);
    assert.ok(Math.abs(o.hysteresis - 0.1) < 1e-6 && Math.abs(o.matchIou - 0.3) < 1e-6);
  } finally {
    engine.close();
  }
  const refused = (tracker, re) => assert.throws(() => core.Engine.create(module, { model: ANET, tracker }),
                                                 (e) => e instanceof core.FaceAttrError && e.code === 'FACEATTR_ERR_INVALID_ARGUMENT' && re.test(e.message),
                                                 JSON.stringify(tracker));
  refused({ window: 0 }, /./);
  refused({ window: 65 }, /./);
  refused({ hysteresis: 0.5 }, /./);
  refused({ matchIou: 0 }, /./);
  refused({ windowSize: 4 }, /unknown tracker option "windowSize"/);
  refused({ window: 2.5 }, /integer/);
  refused({ fps: 'fast' }, /finite number/);
  const off = core.Engine.create(module, { model: ANET, track: false });
  try {
    assert.equal(off.trackerOptions, null);
    assert.equal(off.trackerStats(), null);
    assert.throws(() => off.predict(frames[0], W, H, 'rgba', { track: true }), /no tracker/);
    assert.equal(off.predict(frames[0], W, H, 'rgba').faces.length, 1, 'the session keeps working');
    // A {crop: true} call is never tracked.
    assert.equal(off.predict(frames[0], W, H, 'rgba', { crop: true, track: true }).faces[0].track, undefined);
  } finally {
    off.close();
  }
});
