import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z, type ZodTypeAny } from 'zod';
import { loadConfig } from '../../src/config/load-config.js';
import { labcastConfigSchema } from '../../src/config/schema.js';

// Compiled to dist/test/config/, so the repository root is three levels up.
const EXAMPLE = fileURLToPath(new URL('../../../examples/lab.yaml', import.meta.url));
const REFERENCE = fileURLToPath(new URL('../../../docs/config.md', import.meta.url));

test('the example config loads', () => {
  const config = loadConfig(EXAMPLE);
  assert.equal(config.camera.driver, 'sim');
  assert.equal(config.storage.data_dir, `${dirname(EXAMPLE)}/data`);
  assert.deepEqual(config.settings, { exposure_ms: 10, gain: 1 });
});

test('the example shows the defaults, so reading it tells what leaving a key out means', () => {
  const { settings: _exampleSettings, ...example } = loadConfig(EXAMPLE);
  const { settings: _defaultSettings, ...defaults } = loadConfig();
  assert.deepEqual(
    { ...example, storage: { ...example.storage, data_dir: './data' } },
    { ...defaults, storage: { ...defaults.storage, data_dir: './data' } },
  );
});

test('docs/config.md documents every key of the schema', () => {
  const reference = readFileSync(REFERENCE, 'utf8');
  const missing = keysOf(labcastConfigSchema).filter((key) => !reference.includes(`\`${key}\``));
  assert.deepEqual(missing, []);
});

/** "section.key" for every key of every section; the camera's are those of each driver. */
function keysOf(schema: z.AnyZodObject): string[] {
  const keys: string[] = [];
  for (const [section, value] of Object.entries(schema.shape as Record<string, ZodTypeAny>)) {
    keys.push(section);
    let inner = value instanceof z.ZodDefault ? (value.removeDefault() as ZodTypeAny) : value;
    // The camera is preprocessed (string forms) before its union of drivers, and transformed after it.
    while (inner instanceof z.ZodEffects && !(inner.innerType() instanceof z.ZodObject)) inner = inner.innerType() as ZodTypeAny;
    const objects =
      inner instanceof z.ZodDiscriminatedUnion
        ? (inner.options as z.AnyZodObject[])
        : inner instanceof z.ZodEffects
          ? [inner.innerType() as z.AnyZodObject]
          : inner instanceof z.ZodObject
            ? [inner]
            : [];
    for (const object of objects) {
      for (const key of Object.keys(object.shape as object)) keys.push(`${section}.${key}`);
    }
  }
  return [...new Set(keys)];
}
