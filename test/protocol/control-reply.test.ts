import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CTL_USAGE } from '../../src/cli/ctl-command.js';
import { COMMAND_REPLY_KIND, CONTROL_COMMANDS, replyTimeoutMs } from '../../src/protocol/control.js';

test('every control command has one reply kind, and draining ones get the long timeout', () => {
  assert.deepEqual(Object.keys(COMMAND_REPLY_KIND).sort(), [...CONTROL_COMMANDS].sort());
  assert.equal(replyTimeoutMs('stop'), 60_000);
  assert.equal(replyTimeoutMs('status'), 10_000);
});

test("labcast ctl's help names exactly the commands that wait longer", () => {
  const draining = CONTROL_COMMANDS.filter((cmd) => COMMAND_REPLY_KIND[cmd] === 'draining');
  const help = /60 for ([^,]+(?:,\s+[^,]+)*?) and\s+(\w+), which/.exec(CTL_USAGE.replace(/\s+/g, ' '));
  assert.ok(help, 'the --timeout help lists the commands with the long timeout');
  const listed = [...help[1]!.split(/,\s*/), help[2]!];
  assert.deepEqual(listed.sort(), [...draining].sort());
});
