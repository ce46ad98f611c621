import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAnalysisResult, encodeAnalysisResult, splitResultArrays } from '../../src/protocol/analysis.js';

const HEADER = { protocol: 1 as const, name: 'mine', kind: 'module', run_id: 'run-1', seq: 7, camera_ts_ns: 1795478612060569278n };
const bytes = (text: string): Buffer => Buffer.from(text);

test('a result with typed arrays round-trips: JSON body, binary parts listed in the header, exact nanoseconds', () => {
  const { body, arrays } = splitResultArrays({
    count: 3,
    label: 'x',
    xs: new Float64Array([1.5, 2.5, -3]),
    ids: new Uint16Array([1, 2, 65535]),
  });
  assert.deepEqual(body, { count: 3, label: 'x' });
  const parts = encodeAnalysisResult({ ...HEADER, result_ts_ns: 1795478612060569999n, analysis_ms: 0.25 }, body, arrays);
  assert.equal(parts.length, 5);
  assert.equal(parts[0]!.toString(), 'analysis/mine');
  const decoded = decodeAnalysisResult(parts);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  const { header, body: decodedBody, arrays: decodedArrays } = decoded.result;
  assert.equal(header.camera_ts_ns, 1795478612060569278n);
  assert.equal(header.result_ts_ns, 1795478612060569999n);
  assert.deepEqual(header.arrays, [
    { name: 'xs', dtype: 'float64', shape: [3] },
    { name: 'ids', dtype: 'uint16', shape: [3] },
  ]);
  assert.deepEqual(decodedBody, { count: 3, label: 'x' });
  assert.deepEqual(Array.from(decodedArrays.xs!), [1.5, 2.5, -3]);
  assert.ok(decodedArrays.ids instanceof Uint16Array);
  assert.deepEqual(Array.from(decodedArrays.ids), [1, 2, 65535]);
});

test('what a Python publisher sends at least is accepted, with json.dumps spacing and fields of its own', () => {
  const header = '{"protocol": 1, "name": "spot_counter", "run_id": "r", "seq": 3, "camera_ts_ns": 1795478612060569278, "extra": true}';
  const decoded = decodeAnalysisResult([bytes('analysis/spot_counter'), bytes(header), bytes('{"count": 4}')]);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  assert.equal(decoded.result.header.camera_ts_ns, 1795478612060569278n);
  assert.equal((decoded.result.header as Record<string, unknown>).extra, true);
  assert.deepEqual(decoded.result.body, { count: 4 });
});

test('malformed results are reported with the reason, never thrown', () => {
  const good = encodeAnalysisResult(HEADER, { a: 1 }, [['v', new Float32Array([1, 2])]]);
  const cases: [Buffer[], RegExp][] = [
    [[], /empty message/],
    [[bytes('frame'), good[1]!, good[2]!], /not an analysis topic/],
    [[good[0]!, good[1]!], /expected at least 3/],
    [[good[0]!, bytes('{nope'), good[2]!, good[3]!], /header is not valid JSON/],
    [[good[0]!, good[1]!, bytes('{'), good[3]!], /body is not valid JSON/],
    [[bytes('analysis/other'), good[1]!, good[2]!, good[3]!], /header names "mine"/],
    [[good[0]!, good[1]!, good[2]!], /lists 1 arrays, message has 0/],
    [[good[0]!, good[1]!, good[2]!, Buffer.alloc(7)], /"v" is 7 bytes, its header says 2 × float32/],
    [[good[0]!, bytes('{"protocol":2,"name":"mine","run_id":"r","seq":1,"camera_ts_ns":1}'), good[2]!], /protocol/],
    [[good[0]!, bytes('{"protocol":1,"name":"mine","run_id":"r","camera_ts_ns":1}'), good[2]!], /seq/],
    [[bytes('analysis/a b'), bytes('{"protocol":1,"name":"a b","run_id":"r","seq":1,"camera_ts_ns":1}'), good[2]!], /name/],
  ];
  for (const [parts, reason] of cases) {
    const decoded = decodeAnalysisResult(parts);
    assert.equal(decoded.ok, false);
    assert.match((decoded as { reason: string }).reason, reason);
  }
});
