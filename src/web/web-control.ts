import type { ControlRequest } from '../protocol/control.js';
import { ControlClient } from '../transport/control-client.js';

/** How the web server reaches the experiment controller: the control API, nothing else. */
export interface CommandChannel {
  request(request: ControlRequest): Promise<unknown>;
  close(): void;
}

/** Quick questions; they must not wait behind a `stop` that drains a recording. */
const QUERIES: ReadonlySet<string> = new Set(['status', 'settings', 'get', 'subscribers']);
const QUERY_TIMEOUT_MS = 10_000;
/** As `labcast ctl`: a stop or save off may drain a long recording. */
const COMMAND_TIMEOUT_MS = 60_000;

/** `wait` answers when a recording ends (or after its timeout_s, at most an hour). */
const WAIT_TIMEOUT_MS = 3_610_000;

/**
 * Three ControlClients (each sends one request at a time): one for state
 * changes, which the controller applies in order anyway, one for queries, so
 * the status panel keeps answering while a recording drains, and one for
 * `wait`, which may pend for long and must hold up neither.
 */
export function connectControl(endpoint: string, serverKey: string | null = null): CommandChannel {
  const queries = ControlClient.connect(endpoint, { timeoutMs: QUERY_TIMEOUT_MS, serverKey });
  const commands = ControlClient.connect(endpoint, { timeoutMs: COMMAND_TIMEOUT_MS, serverKey });
  const waits = ControlClient.connect(endpoint, { timeoutMs: WAIT_TIMEOUT_MS, serverKey });
  return {
    request: (request) => (request.cmd === 'wait' ? waits : QUERIES.has(request.cmd) ? queries : commands).request(request),
    close() {
      queries.close();
      commands.close();
      waits.close();
    },
  };
}
