import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, delay, freePort, pythonExampleFromDoc, runPythonFile, scratchDir, startLabcast } from '../helpers/processes.js';

const PROTOCOL_DOC = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

const scratch = scratchDir();
after(() => scratch.cleanup());

test('the pyzmq example in docs/protocol.md receives frames from a running acquisition', async () => {
  const script = join(scratch.dir, 'subscribe.py');
  writeFileSync(script, pythonExampleFromDoc(PROTOCOL_DOC, 'subscribe'));
  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const recorder = startLabcast([
    'record',
    '--fps',
    '50',
    '--duration',
    '20',
    '--width',
    '160',
    '--height',
    '120',
    '--publish',
    endpoint,
    '--out',
    join(scratch.dir, 'watched.h5'),
  ]);
  const recorded = collect(recorder);
  try {
    await delay(500);
    const python = await runPythonFile(script, [endpoint]);
    assert.equal(python.code, 0, python.stderr);
    const lines = python.stdout.trim().split('\n');
    assert.equal(lines.length, 10);
    const seqs = lines.map((line) => {
      const [seq, ...rest] = line.split(' ');
      assert.match(rest.join(' '), /^\(120, 160\) uint16 \d+(\.\d+)?$/);
      return Number(seq);
    });
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, 'consecutive frames');
  } finally {
    recorder.kill('SIGINT');
    const done = await recorded;
    assert.equal(done.code, 0, done.stderr);
  }
});
