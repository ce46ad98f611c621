import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inverseNormalCdf, normalQuantiles } from '../../src/devices/sim/normal.js';
import { hashKey, RANDOM_LEVEL_COUNT, randomLevel16, uniformSequence } from '../../src/devices/sim/prng.js';

test('inverseNormalCdf matches known quantiles of the standard normal', () => {
  // Reference values from Python's statistics.NormalDist().inv_cdf.
  const known: Array<[number, number]> = [
    [7.62939453125e-6, -4.324919040826044],
    [0.001, -3.090232306167813],
    [0.02425, -1.9729610513118845],
    [0.1, -1.2815515655446008],
    [0.5, 0],
    [0.84, 0.9944578832097528],
    [0.975, 1.9599639845400536],
    [0.99999, 4.26489079392384],
  ];
  for (const [p, z] of known) assert.ok(Math.abs(inverseNormalCdf(p) - z) < 1e-8, `p=${p}`);
  assert.throws(() => inverseNormalCdf(0), RangeError);
  assert.throws(() => inverseNormalCdf(1), RangeError);
});

test('the quantile table is a standard normal: mean 0, sd 1, symmetric', () => {
  const table = normalQuantiles();
  assert.equal(table.length, RANDOM_LEVEL_COUNT);
  const mean = table.reduce((sum, z) => sum + z, 0) / table.length;
  const sd = Math.sqrt(table.reduce((sum, z) => sum + z * z, 0) / table.length);
  assert.ok(Math.abs(mean) < 1e-9);
  assert.ok(Math.abs(sd - 1) < 0.001, `sd ${sd}`);
  assert.ok(Math.abs(table[0]! + table[RANDOM_LEVEL_COUNT - 1]!) < 1e-9);
});

test('every quantile is inverseNormalCdf of its level midpoint, to the bit (frames do not change with how the table is built)', () => {
  const table = normalQuantiles();
  for (let k = 0; k < RANDOM_LEVEL_COUNT; k++) {
    const direct = inverseNormalCdf((k + 0.5) / RANDOM_LEVEL_COUNT);
    if (!Object.is(table[k], direct)) assert.fail(`level ${k}: table ${table[k]}, inverseNormalCdf ${direct}`);
  }
});

test('hashKey depends on every part, its order and the high bits of large numbers', () => {
  assert.equal(hashKey(1, 2, 3), hashKey(1, 2, 3));
  assert.notEqual(hashKey(1, 2), hashKey(2, 1));
  assert.notEqual(hashKey(1, 0), hashKey(1, 2 ** 32));
  assert.notEqual(hashKey(1), hashKey(1, 0));
});

test('randomLevel16 is uniform over its 2^16 levels and differs between keys', () => {
  const bins = new Array<number>(16).fill(0);
  const n = 160_000;
  for (let i = 0; i < n; i++) {
    const level = randomLevel16(12345, i);
    assert.ok(Number.isInteger(level) && level >= 0 && level < RANDOM_LEVEL_COUNT);
    bins[level >>> 12]!++;
  }
  // Chi-square with 15 degrees of freedom: 50 is far beyond p = 0.0001.
  const expected = n / 16;
  const chiSquare = bins.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  assert.ok(chiSquare < 50, `chi-square ${chiSquare}`);
  let same = 0;
  for (let i = 0; i < 1000; i++) if (randomLevel16(1, i) === randomLevel16(2, i)) same++;
  assert.ok(same < 5);
});

test('uniformSequence draws in [0, 1) and is reproducible from its key', () => {
  const a = uniformSequence(7);
  const b = uniformSequence(7);
  for (let i = 0; i < 1000; i++) {
    const value = a();
    assert.equal(value, b());
    assert.ok(value >= 0 && value < 1);
  }
});
