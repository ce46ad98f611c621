import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runLabcast, scratchDir } from '../helpers/processes.js';
import { writerNamed } from './writer-backends.js';

/*
 * The saver's one copy of a frame, end to end through `labcast record`: the
 * simulator renders each 1024² frame in its ring slot, so where the disk
 * wants huge pages (LABCAST_DIRECT_STAGING=1 stands for such a disk) the
 * saver copies it into them, its one copy; elsewhere (=0) it writes the slot
 * as it lies. The summary's ringWrites says which bytes went which way.
 * (GenICam's images, which Aravis assembles from GigE Vision packets, are
 * never copied a second time: test/devices/genicam-gige.test.ts.)
 */

interface Summary {
  framesWritten: number;
  bytesWritten: number;
  ringWrites?: { inPlaceBytes: number; stagedBytes: number };
}

const native = writerNamed('native');

describe('frames rendered in the ring: copied once into huge pages, or written in place', { skip: native.skip }, () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  for (const [staging, way] of [
    ['1', 'stagedBytes'],
    ['0', 'inPlaceBytes'],
  ] as const) {
    test(`LABCAST_DIRECT_STAGING=${staging}: every byte ${way === 'stagedBytes' ? 'copied once' : 'written from its slot'}`, async () => {
      const out = join(scratch.dir, `staging-${staging}.h5`);
      const args = ['record', '--frames', '40', '--width', '1024', '--height', '1024', '--fps', '0', '--out', out, '--json'];
      const ran = await runLabcast([...args, '--publish', 'tcp://127.0.0.1:*'], { LABCAST_DIRECT_STAGING: staging });
      assert.equal(ran.code, 0, ran.stderr);
      const summary = JSON.parse(ran.stdout.trim().split('\n').pop()!) as Summary;
      assert.equal(summary.framesWritten, 40);
      const other = way === 'stagedBytes' ? 'inPlaceBytes' : 'stagedBytes';
      assert.deepEqual(summary.ringWrites, { [way]: summary.bytesWritten, [other]: 0 }, ran.stdout);
    });
  }
});
