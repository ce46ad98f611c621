import { isQuery, REPLY_TIMEOUT_MS, type ControlRequest } from '../protocol/control.js';
import { ControlClient } from '../transport/control-client.js';

/** How the web server reaches the experiment controller: the control API, nothing else. */
export interface CommandChannel {
  request(request: ControlRequest): Promise<unknown>;
  close(): void;
}

/** One client sends every state change, so it waits as long as the slowest (a `stop` draining a recording). */
const COMMAND_TIMEOUT_MS = Math.max(REPLY_TIMEOUT_MS.prompt, REPLY_TIMEOUT_MS.draining);

/**
 * Two ControlClients (each sends one request at a time): one for state
 * changes, which the controller applies in order anyway, one for queries, so
 * the status panel keeps answering while a recording drains.
 */
export function connectControl(endpoint: string, serverKey: string | null = null): CommandChannel {
  const queries = ControlClient.connect(endpoint, { timeoutMs: REPLY_TIMEOUT_MS.query, serverKey });
  const commands = ControlClient.connect(endpoint, { timeoutMs: COMMAND_TIMEOUT_MS, serverKey });
  return {
    request: (request) => (isQuery(request.cmd) ? queries : commands).request(request),
    close() {
      queries.close();
      commands.close();
    },
  };
}
