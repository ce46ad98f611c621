import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackLinker } from '../../src/analysis/tracking.js';

test('points moving less than the link distance keep their track ids, in any order', () => {
  const linker = new TrackLinker(3, 0);
  const first = linker.link([
    { x: 10, y: 10 },
    { x: 50, y: 50 },
    { x: 90, y: 10 },
  ]);
  assert.deepEqual(first, [0, 1, 2]);
  // Moved about a pixel each, listed in another order.
  assert.deepEqual(
    linker.link([
      { x: 91, y: 11 },
      { x: 11, y: 9 },
      { x: 50.5, y: 51 },
    ]),
    [2, 0, 1],
  );
  assert.equal(linker.alive, 3);
});

test('the closest pairs are linked first: two candidates for one track go to the nearer spot, the other starts a track', () => {
  const linker = new TrackLinker(5, 0);
  linker.link([{ x: 0, y: 0 }]);
  assert.deepEqual(
    linker.link([
      { x: 3, y: 0 },
      { x: 1, y: 0 },
    ]),
    [1, 0],
  );
});

test('a spot beyond the link distance starts a new track; a track that misses more than link_gap frames ends', () => {
  const linker = new TrackLinker(2, 1);
  assert.deepEqual(linker.link([{ x: 0, y: 0 }]), [0]);
  assert.deepEqual(linker.link([{ x: 5, y: 0 }]), [1], 'too far: a new track');
  // Track 0 has missed one frame (allowed), track 1 none.
  assert.equal(linker.alive, 2);
  assert.deepEqual(linker.link([{ x: 0.5, y: 0 }]), [0], 'track 0 continues after a gap of one frame');
  linker.link([]);
  linker.link([]);
  assert.equal(linker.alive, 0, 'both missed two frames: ended');
  assert.deepEqual(linker.link([{ x: 0.5, y: 0 }]), [2], 'ids are never reused');
});

test('reset forgets the tracks (a new run), ids keep counting', () => {
  const linker = new TrackLinker(3, 2);
  linker.link([{ x: 1, y: 1 }]);
  linker.reset();
  assert.deepEqual(linker.link([{ x: 1, y: 1 }]), [1]);
});

test('many spots: linking is by grid cells, not all pairs, and still exact', () => {
  const linker = new TrackLinker(2, 0);
  const points = Array.from({ length: 5000 }, (_, i) => ({ x: (i % 100) * 10, y: Math.floor(i / 100) * 10 }));
  linker.link(points);
  const moved = points.map((p, i) => ({ x: p.x + ((i * 7) % 3) * 0.5, y: p.y - ((i * 3) % 3) * 0.5 }));
  const started = performance.now();
  const ids = linker.link(moved);
  assert.ok(performance.now() - started < 500);
  assert.deepEqual(
    ids,
    points.map((_, i) => i),
  );
});

test('refuses a non-positive distance or a negative gap', () => {
  assert.throws(() => new TrackLinker(0, 1), /maxDistance/);
  assert.throws(() => new TrackLinker(1, -1), /maxGap/);
});
