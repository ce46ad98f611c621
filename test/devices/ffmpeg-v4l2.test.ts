import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseV4l2Controls,
  v4l2Assignments,
  v4l2SettingSpecs,
  v4l2SettingValues,
  V4l2Controls,
} from '../../src/devices/ffmpeg/v4l2-controls.js';
import { listV4l2Devices, parseV4l2Formats } from '../../src/devices/ffmpeg/v4l2-devices.js';
import { formatCameras } from '../../src/cli/cameras-command.js';
import { LabcastError } from '../../src/protocol/errors.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/v4l2/', import.meta.url));
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

const UVC = fixture('uvc-list-ctrls-menus.txt');
const OLDER = fixture('older-names-list-ctrls-menus.txt');

describe('v4l2-ctl --list-ctrls-menus parsing', () => {
  test('reads every int, bool and menu control with range, default, value, flags and menu entries', () => {
    const controls = parseV4l2Controls(UVC);
    assert.deepEqual(
      controls.map((control) => control.name),
      [
        'brightness',
        'contrast',
        'saturation',
        'hue',
        'white_balance_automatic',
        'gamma',
        'gain',
        'power_line_frequency',
        'white_balance_temperature',
        'sharpness',
        'backlight_compensation',
        'auto_exposure',
        'exposure_time_absolute',
        'exposure_dynamic_framerate',
        'privacy_switch',
      ],
    );
    const brightness = controls.find((control) => control.name === 'brightness');
    assert.deepEqual(
      { ...brightness, menu: [...(brightness?.menu ?? [])] },
      {
        name: 'brightness',
        type: 'int',
        min: -64,
        max: 64,
        step: 1,
        default: 0,
        value: 0,
        flags: [],
        menu: [],
      },
    );
    const menu = controls.find((control) => control.name === 'auto_exposure');
    assert.deepEqual(
      [...(menu?.menu ?? [])],
      [
        [1, 'Manual Mode'],
        [3, 'Aperture Priority Mode'],
      ],
    );
    const bool = controls.find((control) => control.name === 'white_balance_automatic');
    assert.equal(bool?.min, 0);
    assert.equal(bool?.max, 1);
    assert.deepEqual(controls.find((control) => control.name === 'exposure_time_absolute')?.flags, ['inactive']);
  });

  test('newer flag lists, older control names; bitmask and button controls are skipped', () => {
    const controls = parseV4l2Controls(OLDER);
    assert.deepEqual(
      controls.map((control) => control.name),
      ['brightness', 'gain', 'white_balance_temperature', 'exposure_auto', 'exposure_absolute', 'pan_absolute'],
    );
    assert.deepEqual(controls.find((control) => control.name === 'white_balance_temperature')?.flags, ['inactive', 'has-min-max']);
    assert.equal(controls.find((control) => control.name === 'pan_absolute')?.step, 3600);
  });
});

describe('V4L2 controls as camera settings', () => {
  test('brightness, gain and the rest keep the device names and ranges; read-only controls are left out', () => {
    const specs = v4l2SettingSpecs(parseV4l2Controls(UVC));
    const byName = new Map(specs.map((spec) => [spec.name, spec]));
    assert.deepEqual(byName.get('brightness'), {
      name: 'brightness',
      description: 'V4L2 int control',
      unit: '',
      min: -64,
      max: 64,
      integer: true,
      default: 0,
      changeable_while_streaming: true,
    });
    assert.deepEqual([byName.get('gain')?.min, byName.get('gain')?.max], [0, 100]);
    assert.match(byName.get('power_line_frequency')?.description ?? '', /0 = Disabled, 1 = 50 Hz, 2 = 60 Hz/);
    assert.equal(byName.has('privacy_switch'), false);
  });

  test('exposure_ms is the absolute exposure in ms (V4L2 counts 100 µs)', () => {
    for (const [text, control] of [
      [UVC, 'exposure_time_absolute'],
      [OLDER, 'exposure_absolute'],
    ] as const) {
      const controls = parseV4l2Controls(text);
      const spec = v4l2SettingSpecs(controls).find((candidate) => candidate.name === 'exposure_ms');
      const raw = controls.find((candidate) => candidate.name === control)!;
      assert.equal(spec?.min, raw.min / 10);
      assert.equal(spec?.max, raw.max / 10);
      assert.equal(v4l2SettingValues(controls).exposure_ms, raw.value / 10);
    }
  });

  test('setting exposure_ms switches auto exposure to manual first, then sets the exposure in 100 µs units', () => {
    assert.deepEqual(v4l2Assignments(parseV4l2Controls(UVC), 'exposure_ms', 20), [
      ['auto_exposure', 1],
      ['exposure_time_absolute', 200],
    ]);
    // Already manual: only the exposure.
    assert.deepEqual(v4l2Assignments(parseV4l2Controls(OLDER), 'exposure_ms', 12.5), [['exposure_absolute', 125]]);
  });

  test('values are checked against the device ranges, menu entries and steps', () => {
    const controls = parseV4l2Controls(UVC);
    assert.deepEqual(v4l2Assignments(controls, 'brightness', -10), [['brightness', -10]]);
    assert.throws(
      () => v4l2Assignments(controls, 'brightness', 65),
      (error: LabcastError) => error.code === 'BAD_SETTING' && /-64\.\.64/.test(error.message),
    );
    assert.throws(
      () => v4l2Assignments(controls, 'gain', 1.5),
      (error: LabcastError) => error.code === 'BAD_SETTING',
    );
    assert.throws(
      () => v4l2Assignments(controls, 'auto_exposure', 2),
      (error: LabcastError) => error.code === 'BAD_SETTING' && /1 \(Manual Mode\), 3 \(Aperture Priority Mode\)/.test(error.message),
    );
    assert.throws(() => v4l2Assignments(controls, 'white_balance_temperature', 2805), /multiple of 10/);
    assert.throws(
      () => v4l2Assignments(controls, 'focus', 1),
      (error: LabcastError) => error.code === 'BAD_SETTING' && /known settings: exposure_ms, brightness/.test(error.message),
    );
  });

  test('V4l2Controls runs v4l2-ctl -c once per control and re-reads the controls after a change', async () => {
    const calls: string[][] = [];
    let listing = UVC;
    const controls = new V4l2Controls(async (args) => {
      calls.push([...args]);
      if (args[0] === '-c') {
        const [name, value] = (args[1] ?? '').split('=');
        listing = listing.replace(new RegExp(`(${name} 0x\\w+ \\(\\w+\\)\\s*:.*value=)-?\\d+`), `$1${value}`);
      }
      return listing;
    });
    await controls.refresh();
    await controls.set('exposure_ms', 20);
    assert.deepEqual(calls, [
      ['--list-ctrls-menus'],
      ['-c', 'auto_exposure=1'],
      ['-c', 'exposure_time_absolute=200'],
      ['--list-ctrls-menus'],
    ]);
    assert.equal(controls.values().exposure_ms, 20);
    assert.equal(controls.values().auto_exposure, 1);
  });

  test('a refusal by the device is a BAD_SETTING naming the setting', async () => {
    const controls = new V4l2Controls(async (args) => {
      if (args[0] === '-c') throw new LabcastError('CAMERA_UNAVAILABLE', 'v4l2-ctl -d /dev/video0 -c gain=5 failed: Permission denied');
      return UVC;
    });
    await controls.refresh();
    await assert.rejects(
      controls.set('gain', 5),
      (error: LabcastError) => error.code === 'BAD_SETTING' && error.field === 'gain' && /Permission denied/.test(error.message),
    );
  });
});

describe('v4l2-ctl --list-formats-ext and device listing', () => {
  test('formats with their sizes and frame rates', () => {
    assert.deepEqual(parseV4l2Formats(fixture('list-formats-ext.txt')), [
      {
        fourcc: 'YUYV',
        description: 'YUYV 4:2:2',
        sizes: [
          { width: 640, height: 480, fps: [30, 15] },
          { width: 1280, height: 720, fps: [10] },
        ],
      },
      {
        fourcc: 'MJPG',
        description: 'Motion-JPEG, compressed',
        sizes: [
          { width: 640, height: 480, fps: [30] },
          { width: 1920, height: 1080, fps: [30, 25] },
        ],
      },
    ]);
    assert.deepEqual(parseV4l2Formats(fixture('metadata-node-list-formats-ext.txt')), []);
  });

  test('every /dev/video* node, in numeric order, with formats or the reason there are none', async () => {
    const dev = mkdtempSync(join(tmpdir(), 'labcast-dev-'));
    try {
      for (const name of ['video10', 'video0', 'video1', 'null']) writeFileSync(join(dev, name), '');
      const devices = await listV4l2Devices(
        (device) => async () => {
          if (device.endsWith('video1')) return fixture('metadata-node-list-formats-ext.txt');
          if (device.endsWith('video10')) throw new LabcastError('MISSING_TOOL', 'v4l2-ctl is not installed');
          return fixture('list-formats-ext.txt');
        },
        dev,
      );
      assert.deepEqual(
        devices.map((device) => device.device),
        ['video0', 'video1', 'video10'].map((name) => join(dev, name)),
      );
      assert.equal(devices[0]?.formats.length, 2);
      assert.match(devices[1]?.problem ?? '', /no video capture formats/);
      assert.match(devices[2]?.problem ?? '', /not installed/);
      const text = formatCameras(devices);
      assert.match(text, /^sim /);
      assert.match(text, new RegExp(`v4l2:${join(dev, 'video0')}`));
      assert.match(text, /YUYV \(YUYV 4:2:2\): 640x480 @ 30\/15 fps, 1280x720 @ 10 fps/);
    } finally {
      rmSync(dev, { recursive: true, force: true });
    }
  });
});
