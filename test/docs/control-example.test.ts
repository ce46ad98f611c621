import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pythonExampleFromDoc, runPython, runPythonFile } from '../helpers/processes.js';
import { serveForSuite } from '../helpers/serve.js';

const PROTOCOL_DOC = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

/** A Python lab script driving a whole session, as a user would write it. */
const PYTHON_SESSION = `
import json, sys, time, zmq, h5py
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.setsockopt(zmq.RCVTIMEO, 20000)
req.connect(sys.argv[1])
def call(**request):
    req.send_string(json.dumps(request))
    reply = json.loads(req.recv())
    if not reply["ok"]:
        raise RuntimeError(reply["error"]["code"] + ": " + reply["error"]["message"])
    return reply["result"]
def wait_until(check):
    for _ in range(200):
        status = call(cmd="status")
        if check(status):
            return status
        time.sleep(0.05)
    raise RuntimeError("timed out; last status " + json.dumps(status))
out = {}
try:
    assert call(cmd="live")["state"] == "live"
    wait_until(lambda s: s["frames"]["acquired"] > 10)
    assert call(cmd="save", on=True)["state"] == "recording"
    wait_until(lambda s: s["frames"]["saved"] > 20)
    first = call(cmd="save", on=False)["last_recording"]
    call(cmd="record", frames=25)
    second = wait_until(lambda s: s["state"] == "live" and s["last_recording"]["run_id"] != first["run_id"])["last_recording"]
    stopped = call(cmd="stop")
    try:
        call(cmd="set", name="gain", value=1e6)
        out["range_error"] = None
    except RuntimeError as error:
        out["range_error"] = str(error)
    for name, rec in (("first", first), ("second", second)):
        with h5py.File(rec["path"], "r") as f:
            out[name] = {"reported": rec["frames_written"], "in_file": f["entry/data/frames"].shape[0],
                         "ids_contiguous": f["entry/data/frame_id"][:].tolist() == list(range(rec["frames_written"])),
                         "lost": rec["frames_lost"]}
    out["final_state"] = stopped["state"]
finally:
    req.close(linger=0)
    ctx.term()
print(json.dumps(out))
`;

describe('driving labcast serve from Python (pyzmq)', () => {
  const suite = serveForSuite();

  test('the control example in docs/protocol.md runs as printed', async () => {
    const script = join(suite.dir, 'control.py');
    writeFileSync(script, pythonExampleFromDoc(PROTOCOL_DOC, 'control'));
    const ran = await runPythonFile(script, [suite.serve().control]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.stdout.trim().split('\n'), ['idle', '20']);
  });

  test('a Python script runs live → save on → save off → record → stop, and the files match what it was told', async () => {
    const ran = await runPython(PYTHON_SESSION, [suite.serve().control]);
    assert.equal(ran.code, 0, ran.stderr);
    const out = JSON.parse(ran.stdout) as Record<string, { reported: number; in_file: number; ids_contiguous: boolean; lost: number }> & {
      final_state: string;
      range_error: string | null;
    };
    for (const name of ['first', 'second']) {
      const rec = out[name]!;
      assert.equal(rec.in_file, rec.reported, `${name} recording: status and file agree`);
      assert.ok(rec.ids_contiguous, `${name} recording: ids 0..N-1`);
      assert.equal(rec.lost, 0);
    }
    assert.equal(out.second!.reported, 25);
    assert.equal(out.final_state, 'idle');
    assert.match(out.range_error ?? '', /BAD_SETTING: .*gain.*64/);
  });

  test('the wait example in docs/protocol.md records, waits for the end and prints what it says', async () => {
    const script = join(suite.dir, 'wait.py');
    writeFileSync(script, pythonExampleFromDoc(PROTOCOL_DOC, 'wait'));
    const ran = await runPythonFile(script, [suite.serve().control]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), '100 0 None idle');
  });
});
