import { COMMAND_REPLY_KIND, isQuery, REPLY_TIMEOUT_MS, type ControlRequest } from '../protocol/control.js';
import { ControlClient } from '../transport/control-client.js';

/** How the web server reaches the experiment controller: the control API, nothing else. */
export interface CommandChannel {
  request(request: ControlRequest): Promise<unknown>;
  close(): void;
}

/** One client sends every state change, so it waits as long as the slowest (a `stop` draining a recording). */
const COMMAND_TIMEOUT_MS = Math.max(REPLY_TIMEOUT_MS.prompt, REPLY_TIMEOUT_MS.draining);

/**
 * Three ControlClients (each sends one request at a time): one for state
 * changes, which the controller applies in order anyway, one for queries, so
 * the status panel keeps answering while a recording drains, and one for
 * `wait`, which may pend for long and must hold up neither.
 */
export function connectControl(endpoint: string, serverKey: string | null = null): CommandChannel {
  const queries = ControlClient.connect(endpoint, { timeoutMs: REPLY_TIMEOUT_MS.query, serverKey });
  const commands = ControlClient.connect(endpoint, { timeoutMs: COMMAND_TIMEOUT_MS, serverKey });
  const waits = ControlClient.connect(endpoint, { timeoutMs: REPLY_TIMEOUT_MS.waiting, serverKey });
  return {
    request: (request) =>
      (COMMAND_REPLY_KIND[request.cmd] === 'waiting' ? waits : isQuery(request.cmd) ? queries : commands).request(request),
    close() {
      queries.close();
      commands.close();
      waits.close();
    },
  };
}
