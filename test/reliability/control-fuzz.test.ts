import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPython } from '../helpers/processes.js';
import { serveForSuite } from '../helpers/serve.js';

/** 10 000 requests a broken or hostile client could send, seeded so a failure can be replayed. */
const FUZZ = `
import json, random, sys, zmq
random.seed(7)
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.setsockopt(zmq.RCVTIMEO, 10000)
req.connect(sys.argv[1])
commands = ["status", "live", "record", "stop", "save", "snap", "set", "get", "subscriber", "frobnicate", "", None]
def fuzzed(i):
    kind = i % 6
    if kind == 0:
        return bytes(random.getrandbits(8) for _ in range(random.randint(0, 64)))
    if kind == 1:
        return b'{"cmd": "set", "name": "exposure_ms", "value": ' + str(random.random()).encode()
    if kind == 2:
        value = random.choice([None, True, "20", [], {}, -1, 1e308, -1e308, 2**70, "x" * 1000])
        return json.dumps({"cmd": "set", "name": random.choice(["exposure_ms", "gain", "", "x" * 300, 5]), "value": value}).encode()
    if kind == 3:
        return json.dumps({"cmd": "record", "frames": random.choice([0, -5, 2.5, "ten", 10**15, None]),
                           "path": random.choice([1, "", "../../etc/passwd", "/tmp/x.h5"])}).encode()
    if kind == 4:
        return json.dumps(random.choice([[], 42, "status", None, {"cmd": random.choice(commands), "extra": 1}])).encode()
    return json.dumps({"cmd": "get", "name": "no_such_setting_%d" % i}).encode()
errors = 0
ok = 0
codes = {}
for i in range(10000):
    req.send(fuzzed(i))
    reply = json.loads(req.recv())
    if reply["ok"]:
        ok += 1
    else:
        errors += 1
        codes[reply["error"]["code"]] = codes.get(reply["error"]["code"], 0) + 1
req.send_string(json.dumps({"cmd": "status"}))
status = json.loads(req.recv())["result"]
req.close(linger=0)
ctx.term()
print(json.dumps({"errors": errors, "ok": ok, "codes": codes, "state": status["state"],
                  "exposure": status["camera"]["settings"]["exposure_ms"]}))
`;

const suite = serveForSuite();

test('10 000 fuzzed control requests each get an error reply; serve stays up with its state unchanged', async () => {
  const serve = suite.serve();
  const before = await serve.statusNow();
  const fuzz = await runPython(FUZZ, [serve.control]);
  assert.equal(fuzz.code, 0, fuzz.stderr);
  const result = JSON.parse(fuzz.stdout) as { errors: number; ok: number; codes: Record<string, number>; state: string; exposure: number };
  assert.equal(result.ok, 0, `every fuzzed request is refused (codes: ${JSON.stringify(result.codes)})`);
  assert.equal(result.errors, 10_000);
  assert.equal(result.state, before.state);
  assert.equal(result.exposure, before.camera?.settings.exposure_ms);
  assert.equal(serve.child.exitCode, null, 'serve is still running');
  assert.ok(
    Object.keys(result.codes).every((code) => ['BAD_REQUEST', 'BAD_SETTING'].includes(code)),
    JSON.stringify(result.codes),
  );
});
