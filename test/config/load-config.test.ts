import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { DEFAULT_ENDPOINTS } from '../../src/protocol/endpoints.js';
import { scratchDir } from '../helpers/processes.js';

const scratch = scratchDir('labcast-config-');
after(() => scratch.cleanup());

let fileCount = 0;
/** A config file with `text` in a fresh folder; returns its path. */
function configFile(text: string): string {
  const dir = join(scratch.dir, `case-${++fileCount}`);
  mkdirSync(dir);
  const path = join(dir, 'lab.yaml');
  writeFileSync(path, text);
  return path;
}

/** Asserts `run` throws BAD_CONFIG about `field` with a message matching every pattern. */
function assertBadConfig(run: () => unknown, field: string | undefined, ...patterns: RegExp[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof LabcastError, `expected a LabcastError, got ${String(error)}`);
    assert.equal(error.code, 'BAD_CONFIG', error.message);
    assert.equal(error.field, field, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe('defaults', () => {
  test('no config file gives a working config with every default', () => {
    const config = loadConfig();
    assert.deepEqual(config.camera, {
      driver: 'sim',
      width: 640,
      height: 480,
      dtype: 'uint16',
      bit_depth: 12,
      fps: 30,
      pattern: 'particles',
      particle_count: 20,
      particle_sigma: 2,
      seed: 1,
    });
    assert.deepEqual(config.settings, {});
    assert.deepEqual(config.endpoints, DEFAULT_ENDPOINTS);
    assert.equal(config.endpoints.status, 'tcp://127.0.0.1:5558');
    assert.deepEqual(config.web, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(config.storage, {
      data_dir: join(process.cwd(), 'data'),
      naming: 'run_{n}.h5',
      date_folders: false,
      allow_absolute_paths: false,
      overwrite: false,
      compression: 'none',
    });
    assert.deepEqual(config.saver, { flush_interval_ms: 1000, buffer_mb: 512, mode: 'local', remote_timeout_s: 10 });
    assert.deepEqual(config.security, {});
  });

  test('an empty file, a comment-only file and an empty section all mean the defaults', () => {
    const defaults = loadConfig();
    for (const text of ['', '# nothing yet\n', 'storage:\n  # data_dir: /srv/data\n']) {
      const config = loadConfig(configFile(text));
      assert.deepEqual(
        { ...config, storage: { ...config.storage, data_dir: '' } },
        { ...defaults, storage: { ...defaults.storage, data_dir: '' } },
      );
    }
  });

  test('a partial section keeps the defaults of the keys it leaves out', () => {
    const config = loadConfig(configFile('camera:\n  driver: sim\n  width: 128\nsaver:\n  buffer_mb: 64\n'));
    assert.equal(config.camera.driver, 'sim');
    assert.ok(config.camera.driver === 'sim');
    assert.equal(config.camera.width, 128);
    assert.equal(config.camera.height, 480);
    assert.deepEqual(config.saver, { flush_interval_ms: 1000, buffer_mb: 64, mode: 'local', remote_timeout_s: 10 });
  });
});

describe('storage.data_dir', () => {
  test('a relative data_dir is relative to the config file, not to the working directory', () => {
    const path = configFile('storage:\n  data_dir: recordings/today\n');
    assert.equal(loadConfig(path).storage.data_dir, join(path, '..', 'recordings', 'today'));
  });

  test('an absolute data_dir is kept, ~/ is the home folder', () => {
    assert.equal(parseConfig({ storage: { data_dir: '/srv/lab' } }, 'test').storage.data_dir, '/srv/lab');
    assert.equal(parseConfig({ storage: { data_dir: '~/lab' } }, 'test').storage.data_dir, join(homedir(), 'lab'));
  });

  test('parseConfig takes a relative data_dir from the given base folder', () => {
    assert.equal(parseConfig({ storage: { data_dir: 'data' } }, 'test', '/base').storage.data_dir, '/base/data');
  });
});

test('the config is frozen all the way down', () => {
  const config = loadConfig(configFile('settings:\n  exposure_ms: 5\n'));
  for (const part of [config, config.camera, config.settings, config.endpoints, config.web, config.storage, config.saver]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.throws(() => {
    (config.storage as { overwrite: boolean }).overwrite = true;
  }, TypeError);
  assert.throws(() => {
    (config.settings as Record<string, number>).gain = 2;
  }, TypeError);
  assert.equal(config.storage.overwrite, false);
});

describe('bad values name the file, the field path and what is allowed', () => {
  test('a bad enum lists the allowed values', () => {
    const path = configFile('camera:\n  driver: sim\n  dtype: float32\n');
    assertBadConfig(
      () => loadConfig(path),
      'camera.dtype',
      /lab\.yaml:3:10: camera\.dtype: must be one of: uint8, uint16 \(got "float32"\)/,
    );
  });

  test('an unknown camera driver lists the known drivers', () => {
    assertBadConfig(
      () => parseConfig({ camera: { driver: 'basler' } }, 'lab.yaml'),
      'camera.driver',
      /camera\.driver: must be one of: sim, v4l2, file, url, lavfi, replay, genicam \(got "basler"\)/,
    );
  });

  test('a camera without a driver says the driver is required', () => {
    assertBadConfig(() => parseConfig({ camera: { width: 64 } }, 'lab.yaml'), 'camera.driver', /camera\.driver: is required; one of: sim/);
  });

  test("a simulated camera's bit depth that does not fit its dtype is refused at the bit_depth line", () => {
    const path = configFile('camera:\n  driver: sim\n  dtype: uint8\n  bit_depth: 12\n');
    assertBadConfig(
      () => loadConfig(path),
      'camera.bit_depth',
      /lab\.yaml:4:14: camera\.bit_depth: 12 bits do not fit dtype uint8 \(at most 8\)/,
    );
  });

  test('a number out of range gives the whole range', () => {
    const path = configFile('camera:\n  driver: sim\n  width: 100000\n');
    assertBadConfig(
      () => loadConfig(path),
      'camera.width',
      /lab\.yaml:3:10: camera\.width: must be an integer in 1\.\.8192 \(got 100000\)/,
    );
    assertBadConfig(
      () => parseConfig({ web: { port: 70000 } }, 'lab.yaml'),
      'web.port',
      /web\.port: must be an integer in 0\.\.65535 \(got 70000\)/,
    );
    assertBadConfig(
      () => parseConfig({ saver: { flush_interval_ms: 1 } }, 'lab.yaml'),
      'saver.flush_interval_ms',
      /must be an integer in 10\.\.600000 \(got 1\)/,
    );
  });

  test('a fraction where an integer is needed gives the range too', () => {
    assertBadConfig(
      () => parseConfig({ camera: { driver: 'sim', height: 2.5 } }, 'lab.yaml'),
      'camera.height',
      /camera\.height: must be an integer in 1\.\.8192 \(got 2\.5\)/,
    );
  });

  test('a wrong type says what was expected and what was given', () => {
    const path = configFile('web:\n  port: "eighty"\nstorage:\n  overwrite: yes\n');
    assertBadConfig(
      () => loadConfig(path),
      'web.port',
      /2 problems/,
      /lab\.yaml:2:9: web\.port: must be an integer in 0\.\.65535 \(got "eighty"\)/,
      // YAML 1.2: `yes` is a string, not a boolean.
      /lab\.yaml:4:14: storage\.overwrite: must be true or false \(got "yes"\)/,
    );
    assertBadConfig(
      () => parseConfig({ settings: { exposure_ms: 'long' } }, 'lab.yaml'),
      'settings.exposure_ms',
      /settings\.exposure_ms: must be a finite number \(got "long"\)/,
    );
    assertBadConfig(() => parseConfig({ web: [1, 2] }, 'lab.yaml'), 'web', /web: must be a mapping \(key: value lines\) \(got a list\)/);
  });

  test('an empty string where a name is needed', () => {
    assertBadConfig(
      () => parseConfig({ storage: { data_dir: '' } }, 'lab.yaml'),
      'storage.data_dir',
      /storage\.data_dir: must not be empty/,
    );
  });

  test('a config that is not a mapping', () => {
    assertBadConfig(
      () => loadConfig(configFile('- camera\n- storage\n')),
      undefined,
      /lab\.yaml: the config must be a mapping of sections .*got a list/,
    );
  });
});

describe('unknown keys are errors listing the known keys at that level', () => {
  test('at the top level, with a suggestion for a near miss', () => {
    const path = configFile('camera:\n  driver: sim\nstorgae:\n  data_dir: /tmp\n');
    assertBadConfig(
      () => loadConfig(path),
      'storgae',
      new RegExp(
        /lab\.yaml:3:1: storgae: unknown key "storgae" \(did you mean "storage"\?\); /.source +
          /known keys at the top level: camera, settings, endpoints, web, storage, saver/.source,
      ),
    );
  });

  test('in a section', () => {
    const path = configFile('saver:\n  flush_interval_ms: 500\n  buffer: 64\n');
    assertBadConfig(
      () => loadConfig(path),
      'saver.buffer',
      /lab\.yaml:3:3: saver\.buffer: unknown key "buffer".*; known keys here: flush_interval_ms, buffer_mb/,
    );
  });

  test('in the camera, the keys of the driver it names', () => {
    assertBadConfig(
      () => parseConfig({ camera: { driver: 'sim', widht: 64 } }, 'lab.yaml'),
      'camera.widht',
      new RegExp(
        /camera\.widht: unknown key "widht" \(did you mean "width"\?\); /.source +
          /known keys here: width, height, dtype, bit_depth, fps, pattern, particle_count, particle_sigma, seed, driver/.source,
      ),
    );
  });

  test('an unrelated key gets no suggestion', () => {
    assert.throws(
      () => parseConfig({ web: { tls_certificate: 'x' } }, 'lab.yaml'),
      (error: unknown) =>
        error instanceof LabcastError && !/did you mean/.test(error.message) && /known keys here: host, port/.test(error.message),
    );
  });
});

describe('endpoints', () => {
  test('a malformed endpoint is refused, saying what an endpoint looks like', () => {
    const path = configFile('endpoints:\n  control: localhost:5556\n');
    assertBadConfig(
      () => loadConfig(path),
      'endpoints.control',
      /lab\.yaml:2:12: endpoints\.control: is not a ZeroMQ endpoint; expected tcp:\/\/HOST:PORT, tcp:\/\/HOST:\* or ipc:\/\/PATH/,
    );
  });

  test('inproc cannot join separate processes', () => {
    assertBadConfig(
      () => parseConfig({ endpoints: { data: 'inproc://frames' } }, 'lab.yaml'),
      'endpoints.data',
      /inproc:\/\/ only works inside one process/,
    );
  });

  test('two roles on one endpoint are refused; wildcard ports are not a clash', () => {
    assertBadConfig(
      () => parseConfig({ endpoints: { status: DEFAULT_ENDPOINTS.control } }, 'lab.yaml'),
      'endpoints.status',
      /endpoints\.status: is the same as endpoints\.control/,
    );
    const config = parseConfig(
      { endpoints: { data: 'tcp://127.0.0.1:*', record: 'tcp://127.0.0.1:*', control: 'ipc:///tmp/labcast-control' } },
      'lab.yaml',
    );
    assert.equal(config.endpoints.control, 'ipc:///tmp/labcast-control');
  });
});

describe('storage.naming', () => {
  test('a pattern without {n}, {run} or {time} is refused: names would repeat', () => {
    const path = configFile('storage:\n  naming: "{date}.h5"\n');
    assertBadConfig(
      () => loadConfig(path),
      'storage.naming',
      /lab\.yaml:2:11: storage\.naming: must contain one of \{n\}, \{run\}, \{time\}/,
    );
  });

  test('an unknown placeholder lists the placeholders', () => {
    assertBadConfig(
      () => parseConfig({ storage: { naming: 'run_{seq}.h5' } }, 'lab.yaml'),
      'storage.naming',
      /unknown placeholder \{seq\}; placeholders: \{n\}, \{date\}, \{time\}, \{run\}/,
    );
  });

  test('a path, an unmatched brace or a repeated {n} is refused', () => {
    assertBadConfig(
      () => parseConfig({ storage: { naming: '../run_{n}.h5' } }, 'lab.yaml'),
      'storage.naming',
      /must be a file name, not a path/,
    );
    assertBadConfig(() => parseConfig({ storage: { naming: 'run_{n.h5' } }, 'lab.yaml'), 'storage.naming', /unmatched brace/);
    assertBadConfig(() => parseConfig({ storage: { naming: '{n}_{n}.h5' } }, 'lab.yaml'), 'storage.naming', /\{n\} may appear only once/);
  });

  test('patterns with a unique placeholder are accepted', () => {
    for (const naming of ['run_{n}.h5', '{date}_{time}.h5', 'scan-{run}', '{date}_ok_{n}']) {
      assert.equal(parseConfig({ storage: { naming } }, 'lab.yaml').storage.naming, naming);
    }
  });
});

describe('reading the file', () => {
  test('a YAML syntax error gives line and column', () => {
    assertBadConfig(
      () => loadConfig(configFile('camera:\n\tdriver: sim\n')),
      undefined,
      /lab\.yaml:2:1: YAML syntax error: Tabs are not allowed as indentation/,
    );
    assertBadConfig(
      () => loadConfig(configFile('web:\n  host: localhost: 80\n')),
      undefined,
      /lab\.yaml:2:9: YAML syntax error: Nested mappings/,
    );
    assertBadConfig(
      () => loadConfig(configFile('web:\n  host: "localhost\n')),
      undefined,
      /lab\.yaml:3:1: YAML syntax error: Missing closing "quote/,
    );
  });

  test('a key given twice is an error at the second one', () => {
    const path = configFile('web:\n  port: 8080\n  port: 8081\n');
    assertBadConfig(() => loadConfig(path), undefined, /lab\.yaml:3:3: YAML syntax error: Map keys must be unique/);
  });

  test('an alias to an undefined anchor is refused', () => {
    assertBadConfig(() => loadConfig(configFile('web:\n  port: *port\n')), undefined, /lab\.yaml/);
  });

  test('a missing file names the path', () => {
    const missing = join(scratch.dir, 'nowhere', 'lab.yaml');
    assertBadConfig(
      () => loadConfig(missing),
      undefined,
      new RegExp(`config file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} not found`),
    );
  });

  test('a directory instead of a file is said so', () => {
    assertBadConfig(() => loadConfig(scratch.dir), undefined, /is a directory, not a file/);
  });
});

describe('camelCase camera options of the previous version', () => {
  test('are accepted for now, each with a warning naming the new key and where the old one is', () => {
    const warnings: string[] = [];
    const path = configFile('camera:\n  driver: sim\n  particleCount: 7\n  particleSigma: 3\n');
    const config = loadConfig(path, (message) => warnings.push(message));
    assert.equal(config.camera.driver === 'sim' && config.camera.particle_count, 7);
    assert.equal(config.camera.driver === 'sim' && config.camera.particle_sigma, 3);
    assert.deepEqual(warnings, [
      `${path}:3:3: camera: "particleCount" is deprecated; use "particle_count" (the old name is accepted until the next version)`,
      `${path}:4:3: camera: "particleSigma" is deprecated; use "particle_sigma" (the old name is accepted until the next version)`,
    ]);
  });

  test('of the ffmpeg drivers too', () => {
    const warnings: string[] = [];
    const camera = { driver: 'lavfi', graph: 'testsrc2', pixelFormat: 'gray', inputOptions: ['-re'] };
    const config = parseConfig({ camera }, 'test', undefined, (m) => warnings.push(m));
    assert.deepEqual(config.camera, {
      driver: 'lavfi',
      graph: 'testsrc2',
      realtime: true,
      pixel_format: 'gray',
      ffmpeg_path: 'ffmpeg',
      input_options: ['-re'],
    });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^test: camera: "pixelFormat" is deprecated; use "pixel_format"/);
  });

  test('the new names give no warning; both spellings at once is an error', () => {
    const warnings: string[] = [];
    parseConfig({ camera: { driver: 'sim', particle_count: 4 } }, 'test', undefined, (m) => warnings.push(m));
    assert.deepEqual(warnings, []);
    assertBadConfig(
      () => parseConfig({ camera: { driver: 'sim', particle_count: 4, particleCount: 5 } }, 'test', undefined, () => undefined),
      'camera.particleCount',
      /unknown key/,
    );
  });
});

test('camera.pixel_size_um: any driver takes it (for the scale bar and the file); a size that is not positive is refused by name', () => {
  assert.equal(loadConfig(configFile('camera:\n  driver: sim\n  pixel_size_um: 6.5\n')).camera.pixel_size_um, 6.5);
  const genicam = loadConfig(configFile('camera:\n  driver: genicam\n  id: Fake-1\n  pixel_size_um: 0.108\n'));
  assert.equal(genicam.camera.pixel_size_um, 0.108);
  assert.equal(loadConfig(configFile('camera: sim\n')).camera.pixel_size_um, undefined);
  assertBadConfig(() => loadConfig(configFile('camera:\n  driver: sim\n  pixel_size_um: -1\n')), 'camera.pixel_size_um');
});
