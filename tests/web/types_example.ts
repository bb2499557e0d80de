// Type-checks web/faceattr.d.ts against the web/README.md usage (ctest wasm_types:
// tsc --noEmit --strict). The @ts-expect-error lines must stay errors.
import { FaceAttr, FaceAttrError, DetectResult, Explanation, Face, ConceptContribution, ThresholdPolicy } from '../../web/faceattr';

export async function example(video: HTMLVideoElement, image: ImageData, bitmap: ImageBitmap): Promise<string[]> {
  const fa = await FaceAttr.create({ model: '/models/anet-int8.fam', lnetModel: new Uint8Array(4), backend: 'auto' });
  const r: DetectResult = await fa.detect(video);
  await fa.detect(image, { crop: true });
  await fa.detect(bitmap);
  const withMap = await fa.detect(video, { responseMap: true });
  if (withMap.responseMap) console.log(withMap.responseMap.data[0], withMap.responseMap.cellWidth);
  const [smiling]: Explanation[] = await fa.explain(0, ['Smiling', 2]);
  console.log(smiling.p, smiling.peak[0], smiling.map.box[2], smiling.map.values.length);
  const top: ConceptContribution | undefined = smiling.concepts[0];
  if (top) console.log(top.name.toUpperCase(), top.contribution.toFixed(2));
  // @ts-expect-error: a contribution is a number
  const named: string = smiling.concepts[0].contribution;
  await fa.explain(0);
  // @ts-expect-error: attributes are names or indices
  await fa.explain(0, [true]);
  const backend: 'webgpu' | 'wasm-simd' | 'wasm-simd-threads' = r.backend;
  const total: number = r.timings.totalMs + r.timings.anetMs;
  const first: Face | undefined = r.faces[0];
  if (first) console.log(first.box.x, first.box.width, first.score, backend, total, fa.attributes[0].threshold);
  try {
    // @ts-expect-error: not a frame source
    await fa.detect(42);
  } catch (e) {
    if (e instanceof FaceAttrError) console.log(e.code, e.message);
  }
  // @ts-expect-error: the model is required
  await FaceAttr.create({ backend: 'wasm' });
  const gpu = await FaceAttr.create({ model: '/m.fam', backend: 'webgpu' });
  if (gpu.backend === 'webgpu' && gpu.gpuAdapter) console.log(gpu.gpuAdapter.fallback, gpu.backendReason, r.timings.gpuSubmits);
  await gpu.loseGpuDevice();
  // @ts-expect-error: no such backend
  await FaceAttr.create({ model: '/m.fam', backend: 'webgl' });
  // Tracking: on for video by default; per call, options, ids and smoothed values.
  const tracked = await FaceAttr.create({ model: '/m.fam', track: true, tracker: { window: 4, hysteresis: 0.05 } });
  const t = await tracked.detect(image, { timestamp: 1000 / 30 });
  await tracked.detect(image, { track: false });
  for (const f of t.faces) console.log(f.track, f.age, f.rawBox ? f.rawBox.x : f.box.x, t.tracking ? t.tracking.localPasses : 0);
  const opts = tracked.trackerOptions;
  if (opts && tracked.track !== false) console.log(opts.window + opts.detectInterval);
  await tracked.resetTracks();
  // Decision thresholds: at create, switched later, what the model has.
  const balanced = await FaceAttr.create({ model: '/m.fam', thresholds: 'balanced' });
  const policies: ReadonlyArray<ThresholdPolicy> = balanced.thresholdPolicies;
  if (policies.includes('accuracy') && balanced.thresholds === 'balanced') await balanced.setThresholds('accuracy');
  // @ts-expect-error: no such policy
  await FaceAttr.create({ model: '/m.fam', thresholds: 'recall' });
  // @ts-expect-error: no such policy
  await balanced.setThresholds('best');
  // @ts-expect-error: track is 'auto' or a boolean
  await FaceAttr.create({ model: '/m.fam', track: 'video' });
  // @ts-expect-error: no such tracker option
  await FaceAttr.create({ model: '/m.fam', tracker: { windowSize: 4 } });
  await fa.close();
  return r.faces.flatMap((f) => f.attributes.filter((a) => a.present).map((a) => a.name));
}
