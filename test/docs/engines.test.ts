import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import semver from 'semver';

/**
 * The README's "Node.js ≥ N" is a promise about every installed package, not
 * only labcast's own engines field: npm ci warns (and a strict engine check
 * fails) when a dependency several levels down wants a newer Node.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The README's "Node.js ≥ MAJOR[.MINOR]" as the oldest version it promises, e.g. 20.19.0. */
function readmeOldestNode(): { major: number; version: string } {
  const match = /Node\.js ≥ (\d+)(?:\.(\d+))?/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(match, 'the README names the Node.js version it needs ("Node.js ≥ N")');
  return { major: Number(match[1]), version: `${match[1]}.${match[2] ?? 0}.0` };
}

interface Installed {
  readonly name: string;
  readonly version: string;
  readonly nodeRange: string;
}

/** Every package under node_modules (nested ones included) that states engines.node. */
function installedEngines(dir: string, found: Installed[] = []): Installed[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === '.bin') continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      installedEngines(path, found);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string; engines?: { node?: unknown } };
      if (typeof pkg.engines?.node === 'string') {
        found.push({ name: pkg.name ?? entry.name, version: pkg.version ?? '?', nodeRange: pkg.engines.node });
      }
    }
    if (existsSync(join(path, 'node_modules'))) installedEngines(join(path, 'node_modules'), found);
  }
  return found;
}

test("package.json's engines, the README and CI name the same Node.js", () => {
  const { major, version } = readmeOldestNode();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const oldestAllowed = semver.minVersion(pkg.engines.node)?.version;
  assert.equal(oldestAllowed, version, `engines.node ${pkg.engines.node} vs README's Node.js ≥ ${version}`);
  assert.match(readFileSync(join(ROOT, '.ci/run'), 'utf8'), new RegExp(`Node ${major}\\b`), '.ci/run says which Node it runs');
});

test("every installed package admits the README's oldest Node.js", () => {
  const oldest = readmeOldestNode().version;
  const installed = installedEngines(join(ROOT, 'node_modules'));
  assert.ok(installed.length > 10, `found the packages (${installed.length})`);
  const refusing = installed
    .filter((p) => !semver.satisfies(oldest, p.nodeRange))
    .map((p) => `${p.name}@${p.version} wants node ${p.nodeRange}`);
  assert.deepEqual(refusing, [], `packages that refuse Node ${oldest}`);
});
