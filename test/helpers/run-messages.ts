import type { RunEnd, RunStart } from '../../src/protocol/messages.js';

const START_WALL_NS = 1_800_000_000_000_000_000n;

/**
 * A run-start as a test's own sender (a PUSH socket standing in for the
 * acquisition) writes it: 6×10 uint16 frames, no frame count, a fixed start
 * time; `fields` for what the test is about.
 */
export function testRunStart(runId: string, fields: Partial<RunStart> = {}): RunStart {
  return {
    protocol: 1,
    run_id: runId,
    shape: [6, 10],
    dtype: 'uint16',
    frames_requested: null,
    duration_s: null,
    start_wall_ns: START_WALL_NS,
    camera: { driver: 'test', model: 'test', settings: {} },
    config: {},
    software: { name: 'labcast', version: 'test', node: process.version, host: 'test' },
    ...fields,
  };
}

/** The run-end of a run that completed with `framesAcquired` frames and no drop, 1 ns after testRunStart's start; `fields` for what the test is about. */
export function testRunEnd(runId: string, framesAcquired: number, fields: Partial<RunEnd> = {}): RunEnd {
  return {
    protocol: 1,
    run_id: runId,
    reason: 'completed',
    error: null,
    end_wall_ns: START_WALL_NS + 1n,
    frames_acquired: framesAcquired,
    frames_dropped: 0,
    drops: [],
    ...fields,
  };
}
