import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RateWatch } from '../../src/acquisition/rate-watch.js';
import { rateShortfall } from '../../src/protocol/camera-rate.js';

/** Frames every `periodMs` for `durationMs`, sampled every 100 ms as the acquisition's progress reports do. */
function run(requested: number | null, periodMs: number, durationMs: number): RateWatch {
  const watch = new RateWatch(requested);
  let nextFrame = 0;
  for (let now = 0; now <= durationMs; now += 1) {
    if (now >= nextFrame) {
      watch.frame(now);
      nextFrame += periodMs;
    }
    if (now % 100 === 0) watch.sample(now);
  }
  return watch;
}

describe('RateWatch: the rate a camera delivers against the rate asked of it', () => {
  test('a camera that keeps 100 fps: about 100 over the last second and over the run, no shortfall', () => {
    const watch = run(100, 10, 3000);
    assert.ok(Math.abs(watch.current().achieved! - 100) < 1, `current ${watch.current().achieved}`);
    assert.ok(Math.abs(watch.overall().achieved! - 100) < 0.5, `overall ${watch.overall().achieved}`);
    assert.equal(rateShortfall(watch.current()), null);
    assert.equal(rateShortfall(watch.overall()), null);
  });

  test('asked for 100, delivering 50: the shortfall is said with both figures', () => {
    const watch = run(100, 20, 3000);
    assert.equal(rateShortfall(watch.overall()), 'requested 100 fps, achieved 50.0 fps (camera-bound)');
    assert.match(rateShortfall(watch.current()) ?? '', /^requested 100 fps, achieved 5\d\.\d fps \(camera-bound\)$/);
  });

  test('within 5 % is no shortfall; more is', () => {
    assert.equal(rateShortfall({ requested: 1000, achieved: 951 }), null);
    assert.equal(rateShortfall({ requested: 1000, achieved: 160 }), 'requested 1000 fps, achieved 160 fps (camera-bound)');
  });

  test('nothing is judged before a second has passed, nor without a requested rate', () => {
    const short = run(100, 20, 500);
    assert.equal(short.current().achieved, null);
    assert.equal(short.overall().achieved, null);
    assert.equal(rateShortfall(short.overall()), null);
    const free = run(null, 20, 3000);
    assert.ok(free.overall().achieved! > 0);
    assert.equal(rateShortfall(free.overall()), null);
  });

  test('the current rate follows a camera that slows down; the run rate averages', () => {
    const watch = new RateWatch(100);
    let now = 0;
    for (; now < 3000; now += 10) {
      watch.frame(now);
      if (now % 100 === 0) watch.sample(now);
    }
    for (; now < 6000; now += 40) {
      watch.frame(now);
      if (now % 200 === 0) watch.sample(now);
    }
    assert.ok(Math.abs(watch.current().achieved! - 25) < 2, `current ${watch.current().achieved}`);
    const overall = watch.overall().achieved!;
    assert.ok(overall > 30 && overall < 70, `overall ${overall}`);
  });
});
