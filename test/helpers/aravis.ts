import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadAravisAddon, type AravisAddon } from '../../src/native/aravis-addon.js';

/**
 * The Aravis binding for a GenICam test, or null after skipping it: in CI
 * (CI=true, where .ci/run installs Aravis) a missing binding fails instead,
 * as the native writer's tests do.
 */
export function aravisOrSkip(t: TestContext): AravisAddon | null {
  const load = loadAravisAddon();
  if ('addon' in load) return load.addon;
  if (process.env.CI === 'true') assert.fail(`the Aravis binding must be built in CI: ${load.failure}`);
  t.skip(`the Aravis binding is not built (${load.failure})`);
  return null;
}

/** Only Aravis's in-process fake camera: no discovery ever reaches the network. */
export const FAKE_ONLY_ENV = { LABCAST_GENICAM_INTERFACES: 'Fake' } as const;

export interface NetnsRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `moduleScript` (an ES module, as `node --input-type=module -e`) in a
 * network namespace of its own, with loopback up and Aravis's fake GigE Vision
 * camera (arv-fake-gv-camera-0.8 `fakeArgs`) listening on 127.0.0.1 (its pid
 * in FAKE_CAMERA_PID): real GVCP/GVSP, and nothing leaves the namespace. Null after skipping the test
 * where namespaces or the fake camera are not available (CI fails instead).
 */
export function runWithFakeGvCamera(t: TestContext, moduleScript: string, fakeArgs: readonly string[] = []): NetnsRun | null {
  const cannot =
    spawnSync('unshare', ['-n', 'true']).status !== 0
      ? 'unshare -n is not permitted here (needs root or user namespaces)'
      : spawnSync('sh', ['-c', 'command -v arv-fake-gv-camera-0.8']).status !== 0
        ? 'arv-fake-gv-camera-0.8 is not installed (Debian package aravis-tools)'
        : null;
  if (cannot !== null) {
    if (process.env.CI === 'true') assert.fail(cannot);
    t.skip(cannot);
    return null;
  }
  const quoted = [...fakeArgs].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const shell =
    `ip link set lo up && arv-fake-gv-camera-0.8 -i 127.0.0.1 ${quoted} & fake=$!; ` +
    `FAKE_CAMERA_PID=$fake "$NODE" --input-type=module -e "$SCRIPT"; status=$?; kill $fake 2>/dev/null; wait $fake 2>/dev/null; exit ` +
    `$status`;
  const run = spawnSync('unshare', ['-n', 'sh', '-c', shell], {
    env: { ...process.env, NODE: process.execPath, SCRIPT: moduleScript },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
