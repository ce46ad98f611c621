/**
 * Ctrl-C (SIGINT) and SIGTERM for commands that stop in stages: the first
 * press stops cleanly, a second one gives up waiting.
 *
 * One press can arrive twice: a terminal sends SIGINT to the whole foreground
 * process group, and `npx` both receives it and forwards it to labcast. So a
 * repeat within SAME_PRESS_MS of the press counted last is the same press;
 * without this, `npx labcast record` abandoned its drain on a single Ctrl-C.
 */
export const SAME_PRESS_MS = 500;

/**
 * Calls `handler` with 1 for the first press, 2 for the next...; returns a
 * function after which presses are ignored. They are not handed back to the
 * default action: the late copy of a press, after the command has stopped
 * cleanly, would kill the process and turn its exit 0 into death by SIGINT.
 * (Signal listeners do not keep the process alive.)
 */
export function onInterrupts(handler: (press: number, signal: NodeJS.Signals) => void): () => void {
  let presses = 0;
  let countedAt = -Infinity;
  let listening = true;
  const listener = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (!listening || now - countedAt < SAME_PRESS_MS) return;
    countedAt = now;
    presses += 1;
    handler(presses, signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    listening = false;
  };
}
