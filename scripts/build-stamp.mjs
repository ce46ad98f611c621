#!/usr/bin/env node
/**
 * `node scripts/build-stamp.mjs write`: after a build, records a fingerprint
 * of what dist/ and the native writer were built from (dist/.build-inputs).
 * `node scripts/build-stamp.mjs check`: exits 0 when that fingerprint still
 * matches the sources, 1 when a build is needed.
 *
 * Why: npm runs the `prepare` script not only after `npm ci` but also the
 * first time `npx labcast` is used in a clone (npx installs the clone into its
 * cache, which runs prepare, with its output hidden). A full rebuild there made
 * the first `npx labcast serve` take ~12 s before anything showed. `prepare`
 * builds only when this check fails; `npm run build` always builds.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stampPath = join(root, 'dist', '.build-inputs');
/** Everything the build reads from the clone. */
const INPUTS = ['src', 'test', 'bench', 'native', 'scripts', 'tsconfig.json', 'package.json', 'package-lock.json'];
/** What the build makes: missing means not built, whatever the stamp says. */
const OUTPUTS = [join('dist', 'src', 'cli', 'main.js')];

function files(path) {
  if (!existsSync(path)) return [];
  const entries = readdirSync(path, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

function fingerprint() {
  const hash = createHash('sha256');
  const paths = INPUTS.flatMap((input) => {
    const path = join(root, input);
    return existsSync(path) && !path.endsWith('.json') ? files(path) : [path];
  });
  for (const path of paths.sort()) {
    hash.update(relative(root, path)).update('\0');
    if (existsSync(path)) hash.update(readFileSync(path));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const command = process.argv[2];
if (command === 'write') {
  writeFileSync(stampPath, `${fingerprint()}\n`);
} else if (command === 'check') {
  const built = OUTPUTS.every((output) => existsSync(join(root, output)));
  const stamp = existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : '';
  if (built && stamp === fingerprint()) {
    console.error('labcast: dist/ is up to date with the sources; not rebuilding (npm run build rebuilds)');
    process.exit(0);
  }
  process.exit(1);
} else {
  console.error('usage: node scripts/build-stamp.mjs write|check');
  process.exit(2);
}
