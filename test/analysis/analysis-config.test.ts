import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { analysisDefinitions } from '../../src/experiment/analysis-supervisor.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { scratchDir } from '../helpers/processes.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

function configError(yaml: string): LabcastError {
  const file = join(scratch.dir, 'lab.yaml');
  writeFileSync(file, yaml);
  try {
    loadConfig(file);
  } catch (error) {
    return error as LabcastError;
  }
  throw new Error(`accepted:\n${yaml}`);
}

test('analyses by name, defaults filled in; stats and localize exist even when not listed; module paths resolved', () => {
  const config = parseConfig(
    { analysis: { spots: { kind: 'localize', options: { threshold: 6 } }, mine: { kind: 'module', module: 'a/b.js', autostart: true } } },
    'test',
  );
  assert.deepEqual(config.analysis.spots, {
    kind: 'localize',
    autostart: false,
    options: {
      threshold: 6,
      neighbourhood: 1,
      window_radius: 4,
      iterations: 20,
      min_separation: 1,
      max_spots: 10_000,
      link_distance: 3,
      link_gap: 2,
    },
  });
  const definitions = analysisDefinitions(config.analysis, '/lab');
  assert.deepEqual(
    definitions.map((d) => [d.name, d.kind, d.module, d.autostart]),
    [
      ['spots', 'localize', null, false],
      ['mine', 'module', '/lab/a/b.js', true],
      ['stats', 'stats', null, false],
      ['localize', 'localize', null, false],
    ],
  );
  // A configured "stats" replaces the built-in one.
  const own = analysisDefinitions(parseConfig({ analysis: { stats: { kind: 'stats', options: { bins: 16 } } } }, 'test').analysis);
  assert.deepEqual(
    own.map((d) => d.name),
    ['stats', 'localize'],
  );
  assert.deepEqual(own[0]!.options, { bins: 16 });
  const defaults = parseConfig({}, 'test');
  assert.deepEqual(defaults.analysis, {});
  assert.equal(defaults.endpoints.results, 'tcp://127.0.0.1:5559');
  assert.equal(defaults.endpoints.results_in, 'tcp://127.0.0.1:5560');
});

test('config mistakes name the field, where it is, and what is allowed', () => {
  let error = configError('analysis:\n  spots:\n    kind: spots\n');
  assert.equal(error.code, 'BAD_CONFIG');
  assert.equal(error.field, 'analysis.spots.kind');
  assert.match(error.message, /lab\.yaml:3:11: analysis\.spots\.kind: must be one of: stats, localize, module \(got "spots"\)/);

  error = configError('analysis:\n  spots:\n    kind: localize\n    options:\n      treshold: 3\n');
  assert.equal(error.field, 'analysis.spots.options.treshold');
  assert.match(error.message, /unknown key "treshold" \(did you mean "threshold"\?\); known keys here: threshold, neighbourhood/);

  error = configError('analysis:\n  mine:\n    kind: module\n');
  assert.equal(error.field, 'analysis.mine.module');
  assert.match(error.message, /analysis\.mine\.module: is required \(a string\)/);

  error = configError('analysis:\n  "no/slash":\n    kind: stats\n');
  assert.match(error.message, /must be a name of 1 to 64 letters, digits/);

  error = configError('analysis:\n  s:\n    kind: stats\n    options: { bins: 0 }\n');
  assert.equal(error.field, 'analysis.s.options.bins');
  assert.match(error.message, /must be an integer in 1\.\.65536 \(got 0\)/);

  error = configError('endpoints:\n  data: tcp://127.0.0.1:7000\n  results: tcp://127.0.0.1:7000\n');
  assert.equal(error.field, 'endpoints.results');
  assert.match(error.message, /is the same as endpoints\.data/);
});
