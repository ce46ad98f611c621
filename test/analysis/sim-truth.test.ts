import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCamera } from '../../src/devices/sim/sim-camera.js';
import { simParticlePositions } from '../../src/devices/sim/particles.js';
import { simFrameTruth } from '../../src/devices/sim/render.js';
import { decodeDataMessage, encodeFrame } from '../../src/protocol/codec.js';
import { localizeSpots } from '../../src/analysis/localize.js';

test('the particles pattern gives each frame its truth; ROI-relative, amplitudes in the frame DN', async () => {
  const camera = new SimCamera({ width: 200, height: 150, fps: 0, particle_count: 12, seed: 5 });
  await camera.open();
  await camera.setSetting('gain', 1.1); // the truth follows the settings
  await camera.setSetting('roi_width', 160);
  await camera.setSetting('roi_height', 120);
  await camera.setSetting('roi_x', 20);
  await camera.setSetting('roi_y', 10);
  const abort = new AbortController();
  const frames = [];
  for await (const frame of camera.stream(abort.signal)) {
    frames.push(frame);
    if (frames.length === 3) abort.abort();
  }
  await camera.close();
  for (const frame of frames) {
    const truth = frame.truth!;
    const expected = simParticlePositions(camera.options, frame.cameraIndex);
    assert.equal(truth.x.length, 12);
    assert.equal(truth.sigma, 2);
    expected.forEach((p, i) => {
      assert.ok(Math.abs(truth.x[i]! - (p.x - 20)) <= 5e-5);
      assert.ok(Math.abs(truth.y[i]! - (p.y - 10)) <= 5e-5);
      // The default camera: 5000 photons a bead × QE 0.8 × 0.5 DN/e⁻ × gain, spread over 2π·σ² (σ = 2).
      const intensity = p.brightness * 5000 * 0.8 * 0.5 * 1.1;
      assert.ok(Math.abs(truth.intensity[i]! - intensity) <= 1e-3);
      assert.ok(Math.abs(truth.amplitude[i]! - intensity / (8 * Math.PI)) <= 1e-3);
    });
    // Fitted spots sit on the truth in frame coordinates, with the truth's amplitude.
    const { spots } = localizeSpots(frame.pixels, frame.shape, frame.dtype);
    const inside = truth.x
      .map((x, i) => ({ x, y: truth.y[i]!, a: truth.amplitude[i]! }))
      .filter((p) => p.x > 5 && p.y > 5 && p.x < 154 && p.y < 114);
    let compared = 0;
    for (const p of inside) {
      const near = spots.find((s) => Math.hypot(s.x - p.x, s.y - p.y) < 0.3);
      if (near === undefined) continue; // overlapping beads
      assert.ok(Math.abs(near.amplitude / p.a - 1) < 0.1, `amplitude ${near.amplitude} vs truth ${p.a}`);
      compared += 1;
    }
    assert.ok(compared >= inside.length / 2 && compared > 0, `${compared} of ${inside.length} beads compared`);
  }
});

test('other patterns carry no truth; the header field survives the wire', () => {
  const noise = new SimCamera({ pattern: 'noise' });
  assert.equal(simFrameTruth(noise.options, {}, 0), undefined);
  const camera = new SimCamera({ width: 32, height: 24, particle_count: 2 });
  const truth = simFrameTruth(camera.options, {}, 4)!;
  const header = {
    protocol: 1 as const,
    run_id: 'r',
    seq: 4,
    camera_ts_ns: 1n,
    wall_ts_ns: 2n,
    shape: [24, 32],
    dtype: 'uint16' as const,
    truth,
  };
  const decoded = decodeDataMessage(encodeFrame(header, new Uint8Array(24 * 32 * 2)));
  assert.ok(decoded.ok && decoded.message.topic === 'frame');
  assert.deepEqual(decoded.message.header.truth, truth);
});
