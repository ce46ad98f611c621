import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher } from 'zeromq';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { StatusPublisher, StatusSubscriber } from '../../src/transport/status-channel.js';
import { delay } from '../helpers/processes.js';
import { InProcessExperiment } from '../helpers/in-process-experiment.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

/** The real controller (camera and saver in this process), closed after the test. */
async function startExperiment(): Promise<InProcessExperiment> {
  const experiment = await InProcessExperiment.start();
  open.push(experiment);
  return experiment;
}

/** Publishes `send()` until the subscriber has its first status: PUB/SUB drops what is sent before the connection. */
async function firstStatus(statuses: AsyncIterator<ExperimentStatus>, send: () => void): Promise<ExperimentStatus> {
  const next = statuses.next();
  for (let tries = 0; tries < 100; tries++) {
    send();
    const arrived = await Promise.race([next, delay(50).then(() => null)]);
    if (arrived !== null) {
      assert.equal(arrived.done, false);
      return arrived.value;
    }
  }
  throw new Error('no status arrived');
}

describe('status channel (real sockets)', () => {
  test('every status published reaches a subscriber intact and in order', async () => {
    const publisher = await StatusPublisher.bind('tcp://127.0.0.1:*');
    const subscriber = StatusSubscriber.connect(publisher.endpoint);
    open.push(subscriber, publisher);
    const experiment = await startExperiment();
    const statuses = subscriber[Symbol.asyncIterator]();
    const idle = experiment.status();
    assert.deepEqual(await firstStatus(statuses, () => publisher.publish(idle)), idle);
    // Drain what the warm-up left in flight, then watch a sequence of changes.
    await delay(100);
    const expected: ExperimentStatus[] = [];
    for (const command of [{ cmd: 'live' }, { cmd: 'record', path: 'beads.h5' }, { cmd: 'stop' }] as const) {
      const status = await experiment.controller.handle(command);
      expected.push(status);
      publisher.publish(status);
    }
    const received: ExperimentStatus[] = [];
    while (received.length < expected.length) {
      const value = (await statuses.next()).value as ExperimentStatus;
      if (value.state !== 'idle' || received.length > 0) received.push(value);
    }
    assert.deepEqual(received, expected);
    assert.equal(subscriber.malformed.count, 0);
  });

  test('statuses published in bursts are all handed to ZeroMQ, one send at a time', async () => {
    const publisher = await StatusPublisher.bind('tcp://127.0.0.1:*');
    open.push(publisher);
    const status = (await startExperiment()).status();
    // 2000 in all: past the 512 sends zeromq.js completes at once, after which a
    // send made while another is in progress throws EBUSY.
    for (let burst = 0; burst < 50; burst++) {
      for (let i = 0; i < 40; i++) publisher.publish(status);
      await delay(0);
    }
    await delay(50);
    assert.equal(publisher.failures, 0);
  });

  test('malformed messages are skipped and counted, never thrown', async () => {
    const raw = new Publisher({ linger: 0 });
    await raw.bind('tcp://127.0.0.1:*');
    const subscriber = StatusSubscriber.connect(raw.lastEndpoint!);
    open.push(subscriber, raw);
    const valid = (await startExperiment()).status();
    const statuses = subscriber[Symbol.asyncIterator]();
    await firstStatus(statuses, () => void raw.send(['status', JSON.stringify(valid)]));
    await delay(100);
    const bad: string[][] = [
      ['status', '{not json'],
      ['status', JSON.stringify({ ...valid, state: 'dancing' })],
      ['status', JSON.stringify({ ...valid, protocol: 2 })],
      ['status', JSON.stringify(valid), 'extra part'],
      ['statusX', JSON.stringify(valid)],
    ];
    const before = subscriber.malformed.count;
    for (const parts of bad) await raw.send(parts);
    await raw.send(['status', JSON.stringify({ ...valid, state: 'live' })]);
    let next = (await statuses.next()).value as ExperimentStatus;
    while (next.state === 'idle') next = (await statuses.next()).value as ExperimentStatus;
    assert.equal(next.state, 'live');
    assert.equal(subscriber.malformed.count - before, bad.length);
    assert.match(subscriber.malformed.lastReason ?? '', /status topic/);
  });

  test('iteration ends when the subscriber is closed', async () => {
    const publisher = await StatusPublisher.bind('tcp://127.0.0.1:*');
    const subscriber = StatusSubscriber.connect(publisher.endpoint);
    open.push(publisher);
    setTimeout(() => subscriber.close(), 100);
    let count = 0;
    for await (const _status of subscriber) count += 1;
    assert.equal(count, 0);
  });
});
