import { setTimeout as delay } from 'node:timers/promises';
import type { AnalysisResult } from '../protocol/analysis.js';
import type { FrameHeader, RunEnd } from '../protocol/messages.js';
import type { ResultsReceipt } from './analysis-results.js';
import type { FrameSink, FrameWriter, OpenFrameSink, OpenFrameWriter, WriterSummary } from './frame-writer.js';

/** Test hook: the saver's writer this much slower per frame, ms (0 or unset: as fast as it is). */
export const SAVER_DELAY_ENV = 'LABCAST_TEST_SAVER_DELAY_MS';

/**
 * The writers `open` makes, each `delayPerFrameMs` slower per frame, to prove
 * that a saver slower than the camera is accounted for (every drop counted).
 * The wait does not block: the saver keeps flushing and reporting meanwhile.
 */
export function slowWriter(open: OpenFrameWriter, delayPerFrameMs: number): OpenFrameSink {
  if (!(delayPerFrameMs > 0)) return open;
  return async (path, start, options) => new SlowFrameWriter(await open(path, start, options), delayPerFrameMs);
}

/** `open`, made slower by LABCAST_TEST_SAVER_DELAY_MS when it is set. */
export function slowWriterFromEnv(open: OpenFrameWriter, env: NodeJS.ProcessEnv = process.env): OpenFrameSink {
  return slowWriter(open, Number(env[SAVER_DELAY_ENV] ?? 0));
}

class SlowFrameWriter implements FrameSink {
  constructor(
    private readonly inner: FrameWriter,
    private readonly delayPerFrameMs: number,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  get framesWritten(): number {
    return this.inner.framesWritten;
  }

  get framesFlushed(): number {
    return this.inner.framesFlushed;
  }

  get hdf5Writer(): string {
    return this.inner.hdf5Writer;
  }

  async append(header: FrameHeader, pixels: Uint8Array): Promise<void> {
    this.inner.append(header, pixels);
    await delay(this.delayPerFrameMs);
  }

  addResult(result: AnalysisResult): void {
    this.inner.addResult(result);
  }

  flush(): void {
    this.inner.flush();
  }

  finish(end: RunEnd | null, results?: ResultsReceipt | null): WriterSummary {
    return this.inner.finish(end, results);
  }
}
