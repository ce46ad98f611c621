import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT, exitCodeFor } from '../../src/cli/exit-codes.js';
import { ERROR_CODES, LabcastError, type ErrorCode } from '../../src/protocol/errors.js';

const PROTOCOL_DOC = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

/** The rows of the "Error codes" table in docs/protocol.md: code → {http, exit}. */
function documentedCodes(): Map<string, { http: number; exit: number }> {
  const text = readFileSync(PROTOCOL_DOC, 'utf8');
  const start = text.indexOf('### Error codes');
  assert.ok(start >= 0, 'docs/protocol.md has an "Error codes" section');
  const section = text.slice(start, text.indexOf('\n### ', start + 1));
  const rows = new Map<string, { http: number; exit: number }>();
  for (const match of section.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (\d+) \|/gm)) {
    assert.ok(!rows.has(match[1]!), `${match[1]} is documented once`);
    rows.set(match[1]!, { http: Number(match[2]), exit: Number(match[3]) });
  }
  return rows;
}

test('every error code is documented in docs/protocol.md with its HTTP status and exit code', () => {
  const documented = documentedCodes();
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  assert.deepEqual(
    [...codes].filter((code) => !documented.has(code)),
    [],
    'codes missing from docs/protocol.md',
  );
  assert.deepEqual(
    [...documented.keys()].filter((code) => !(code in ERROR_CODES)),
    [],
    'documented codes that do not exist',
  );
  for (const code of codes) {
    const spec = ERROR_CODES[code];
    const row = documented.get(code)!;
    assert.equal(row.http, spec.http, `${code}: HTTP status in the docs`);
    assert.equal(row.exit, spec.exit === 'input' ? EXIT.badInput : EXIT.failed, `${code}: exit code in the docs`);
  }
});

test('the CLI exit code of an error follows its catalogue entry', () => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const expected = ERROR_CODES[code].exit === 'input' ? EXIT.badInput : EXIT.failed;
    assert.equal(exitCodeFor(new LabcastError(code, 'x')), expected, code);
  }
  assert.equal(exitCodeFor(new Error('not a labcast error')), EXIT.failed);
});
