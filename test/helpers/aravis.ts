import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadAravisAddon, type AravisAddon } from '../../src/devices/genicam/aravis-addon.js';

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
