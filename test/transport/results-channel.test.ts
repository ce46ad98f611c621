import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher } from 'zeromq';
import type { AnalysisResult } from '../../src/protocol/analysis.js';
import { ResultsProxy } from '../../src/transport/results-proxy.js';
import { ResultsPublisher } from '../../src/transport/results-publisher.js';
import { ResultsSubscriber } from '../../src/transport/results-subscriber.js';

const header = (seq: number, name = 'stats') => ({
  protocol: 1 as const,
  name,
  run_id: 'run-1',
  seq,
  camera_ts_ns: 1_000_000_000n + BigInt(seq),
});

/** Publishes `probe` until the subscription has reached the publisher through the proxy (PUB/SUB joins late). */
async function untilJoined(publish: () => void, results: AsyncIterator<AnalysisResult>): Promise<AnalysisResult> {
  const next = results.next();
  for (let tries = 0; tries < 500; tries++) {
    publish();
    const first = await Promise.race([next, delay(20, null)]);
    if (first !== null) return first.value as AnalysisResult;
  }
  throw new Error('the subscriber never got a result');
}

describe('the results channel: publisher → proxy (XSUB/XPUB) → subscriber, real sockets', () => {
  let proxy: ResultsProxy;
  before(async () => {
    proxy = await ResultsProxy.bind('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*');
  });
  after(() => proxy.close());

  test('results arrive typed and in order, with their arrays; closing the subscriber ends the iteration', async () => {
    const publisher = ResultsPublisher.connect(proxy.resultsIn);
    const subscriber = ResultsSubscriber.connect(proxy.results);
    const results = subscriber[Symbol.asyncIterator]();
    const first = await untilJoined(() => publisher.publish(header(0, 'probe'), {}), results);
    assert.equal(first.topic, 'analysis/probe');

    for (let seq = 0; seq < 20; seq++) publisher.publish(header(seq), { mean: seq / 2 }, [['hist', new Uint32Array([seq, 1])]]);
    const got: AnalysisResult[] = [];
    while (got.length < 20) {
      const step = await results.next();
      assert.ok(step.done !== true, 'the subscriber ended early');
      const value = step.value;
      if (value.header.name === 'stats') got.push(value);
    }
    assert.deepEqual(
      got.map((result) => result.header.seq),
      Array.from({ length: 20 }, (_, seq) => seq),
    );
    assert.equal(got[7]!.header.camera_ts_ns, 1_000_000_007n);
    assert.deepEqual(got[7]!.body, { mean: 3.5 });
    assert.deepEqual(Array.from(got[7]!.arrays.hist!), [7, 1]);
    assert.ok(subscriber.received >= 21);
    assert.equal(subscriber.malformed, 0);

    const ending = results.next();
    subscriber.close();
    assert.deepEqual(await ending, { value: undefined, done: true });
    await publisher.close();
  });

  test('a malformed message on the results topic is counted and skipped, not thrown', async () => {
    const subscriber = ResultsSubscriber.connect(proxy.results);
    const results = subscriber[Symbol.asyncIterator]();
    // Anyone may publish to results_in, labcast's publisher or not.
    const raw = new Publisher({ linger: 0 });
    raw.connect(proxy.resultsIn);
    const publisher = ResultsPublisher.connect(proxy.resultsIn);
    await untilJoined(() => publisher.publish(header(0, 'probe'), {}), results);
    // The subscriber reads (and counts) while someone iterates it.
    const good = (async () => {
      for (;;) {
        const step = await results.next();
        assert.ok(step.done !== true, 'the subscriber ended early');
        if (step.value.header.name === 'good') return step.value;
      }
    })();
    // The raw publisher joins late too: send until one of its messages has been counted.
    for (let tries = 0; subscriber.malformed === 0 && tries < 200; tries++) {
      await raw.send([Buffer.from('analysis/bad'), Buffer.from('{not json'), Buffer.from('{}')]);
      await delay(10);
    }
    assert.ok(subscriber.malformed >= 1, 'the malformed message was counted');
    assert.match(subscriber.lastMalformed ?? '', /header/i);
    publisher.publish(header(99, 'good'), { ok: true });
    assert.deepEqual((await good).body, { ok: true });
    raw.close();
    subscriber.close();
    await publisher.close();
  });

  test('a result that cannot be encoded throws at publish, and nothing is sent', async () => {
    const publisher = ResultsPublisher.connect(proxy.resultsIn);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => publisher.publish(header(1), cyclic));
    assert.equal(publisher.sent, 0);
    assert.equal(publisher.dropped, 0);
    await publisher.close();
  });
});
