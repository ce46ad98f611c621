import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Who wrote a file or a message: goes into every run-start for provenance. */
export interface SoftwareInfo {
  readonly name: string;
  readonly version: string;
  readonly node: string;
  readonly host: string;
}

let cached: SoftwareInfo | undefined;

export function softwareInfo(): SoftwareInfo {
  if (cached === undefined) {
    // Compiled to dist/src/config/, so the package root is three levels up.
    const pkgUrl = new URL('../../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { name: string; version: string };
    cached = Object.freeze({ name: pkg.name, version: pkg.version, node: process.version, host: hostname() });
  }
  return cached;
}
