/**
 * A camera's one stream at a time. A claimed stream gets a stop signal that
 * follows the caller's and also fires on close(); the camera counts as idle
 * from the moment it fires, even while a consumer still holds a frame.
 */
export class StreamSlot {
  private active: AbortController | undefined;

  get busy(): boolean {
    return this.active !== undefined;
  }

  /** Ends the running stream, if any (for close()). */
  stop(): void {
    this.active?.abort();
  }

  /** Claims the slot for a stream; call `release` in the stream's `finally`. */
  claim(signal: AbortSignal): { stop: AbortSignal; release: () => void } {
    const stop = new AbortController();
    const follow = (): void => stop.abort();
    signal.addEventListener('abort', follow, { once: true });
    if (signal.aborted) stop.abort();
    stop.signal.addEventListener('abort', () => {
      if (this.active === stop) this.active = undefined;
    });
    if (!stop.signal.aborted) this.active = stop;
    return {
      stop: stop.signal,
      release: () => {
        signal.removeEventListener('abort', follow);
        stop.abort();
      },
    };
  }
}
