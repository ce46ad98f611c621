import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger, logLevelFromEnv, LOG_LEVEL_ENV, type LogLevel } from '../../src/log/logger.js';
import { collect, runLabcast, scratchDir, type Finished } from '../helpers/processes.js';

const LOGGER_MODULE = fileURLToPath(new URL('../../src/log/logger.js', import.meta.url));
const CHILD_MODULE = fileURLToPath(new URL('../../src/experiment/child-process.js', import.meta.url));
const RUN_ID = '3f2a9c1e-7b6d-4c1a-9e2f-0123456789ab';
const LINE_START = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

function collected(level: LogLevel): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger('saver', level, (text) => lines.push(...text.split('\n'))), lines };
}

describe('the logger', () => {
  test('writes the levels at and above its own, each line with the time and its tag', () => {
    const { logger, lines } = collected('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, LINE_START);
    assert.match(lines[0]!, / \[saver\] warn: w$/);
    assert.match(lines[1]!, / \[saver\] error: e$/);
  });

  test('silent writes nothing; debug writes everything', () => {
    const quiet = collected('silent');
    quiet.logger.error('e');
    assert.deepEqual(quiet.lines, []);
    const chatty = collected('debug');
    chatty.logger.debug('d');
    assert.match(chatty.lines[0]!, / \[saver\] debug: d$/);
  });

  test('the tag carries the run while there is one; every line of a message is tagged', () => {
    const { logger, lines } = collected('info');
    logger.setRun(RUN_ID);
    logger.info('first\nsecond');
    logger.setRun(null);
    logger.info('between runs');
    assert.match(lines[0]!, / \[saver run=3f2a9c1e\] info: first$/);
    assert.match(lines[1]!, / \[saver run=3f2a9c1e\] info: second$/);
    assert.match(lines[2]!, / \[saver\] info: between runs$/);
  });

  test('LABCAST_LOG_LEVEL: a level, unset, or refused naming the variable', () => {
    assert.equal(logLevelFromEnv({ [LOG_LEVEL_ENV]: 'DEBUG' }), 'debug');
    assert.equal(logLevelFromEnv({}), undefined);
    assert.throws(
      () => logLevelFromEnv({ [LOG_LEVEL_ENV]: 'loud' }),
      (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'BAD_CONFIG');
        assert.match((error as Error).message, /LABCAST_LOG_LEVEL=loud: use one of debug, info, warn, error, silent/);
        return true;
      },
    );
  });
});

describe('child processes: their lines arrive at the supervisor with their tags', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  // A labcast child: its own logger (role saver, a run), and a line written past it.
  const childScript = join(scratch.dir, 'child.mjs');
  writeFileSync(
    childScript,
    `const { startProcessLog } = await import(${JSON.stringify(LOGGER_MODULE)});
     const log = startProcessLog('saver');
     log.setRun(${JSON.stringify(RUN_ID)});
     log.debug('a debug line');
     log.info('an info line');
     process.stderr.write('a line without a tag\\n');
     process.disconnect();`,
  );
  // The supervisor, as serve is: its own log level, and the child started through LabcastChild.
  // A file, not --eval: a forked child inherits the parent's node options.
  const supervisorScript = join(scratch.dir, 'supervisor.mjs');
  writeFileSync(
    supervisorScript,
    `const { startProcessLog } = await import(${JSON.stringify(LOGGER_MODULE)});
     const { LabcastChild } = await import(${JSON.stringify(CHILD_MODULE)});
     startProcessLog('serve', process.argv[2]);
     const child = LabcastChild.start('saver', new URL('file://' + ${JSON.stringify(childScript)}), {});
     await child.exited;`,
  );
  const supervise = (configLevel: LogLevel, env: NodeJS.ProcessEnv = {}): Promise<Finished> => {
    const { [LOG_LEVEL_ENV]: _unset, ...base } = process.env;
    return collect(
      spawn(process.execPath, [supervisorScript, configLevel], {
        env: { ...base, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  };

  test("the child's lines keep its tag; an untagged line gets the child's role", async () => {
    const finished = await supervise('info');
    assert.equal(finished.code, 0, finished.stderr);
    const lines = finished.stderr.trim().split('\n');
    assert.equal(lines.length, 2, finished.stderr);
    assert.match(lines[0]!, LINE_START);
    assert.match(lines[0]!, / \[saver run=3f2a9c1e\] info: an info line$/);
    assert.match(lines[1]!, LINE_START);
    assert.match(lines[1]!, / \[saver\] a line without a tag$/);
  });

  test("the child logs at the supervisor's level: the config's, unless LABCAST_LOG_LEVEL says otherwise", async () => {
    const quiet = await supervise('warn');
    assert.doesNotMatch(quiet.stderr, /an info line/);
    const fromConfig = await supervise('debug');
    assert.match(fromConfig.stderr, /\[saver run=3f2a9c1e\] debug: a debug line/);
    const fromEnv = await supervise('warn', { [LOG_LEVEL_ENV]: 'debug' });
    assert.match(fromEnv.stderr, /\[saver run=3f2a9c1e\] debug: a debug line/);
  });
});

describe('labcast record logs through real processes', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());
  const FAST = ['--frames', '5', '--width', '64', '--height', '48', '--fps', '0', '--publish', 'tcp://127.0.0.1:*', '--json'];

  test('at debug, the acquisition and the saver each say what they do, tagged with the run', async () => {
    const result = await runLabcast(['record', ...FAST, '--out', join(scratch.dir, 'debug.h5')], { [LOG_LEVEL_ENV]: 'debug' });
    assert.equal(result.code, 0, result.stderr);
    const run = (JSON.parse(result.stdout) as { runId: string }).runId.slice(0, 8);
    assert.match(result.stderr, new RegExp(`\\[acquisition run=${run}\\] debug: run starts, saving`));
    assert.match(result.stderr, new RegExp(`\\[saver run=${run}\\] debug: writing .*debug\\.h5`));
  });

  test('a LABCAST_LOG_LEVEL that is not a level: exit 2 naming it, nothing recorded', async () => {
    const out = join(scratch.dir, 'refused.h5');
    const result = await runLabcast(['record', ...FAST, '--out', out], { [LOG_LEVEL_ENV]: 'loud' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /LABCAST_LOG_LEVEL=loud/);
    assert.equal(existsSync(out), false);
  });
});
