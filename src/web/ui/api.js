// @ts-check
// Talking to labcast serve: the control API over HTTP, the status stream over a WebSocket.

/** @typedef {import('../../protocol/control.js').ExperimentStatus} ExperimentStatus */
/** @typedef {import('../../protocol/control.js').AnalysisInfo} AnalysisInfo */
/** @typedef {import('../../protocol/control.js').RunProgress} RunProgress */
/** @typedef {import('../../protocol/control.js').SettingsResult} SettingsResult */
/** @typedef {SettingsResult['specs'][number]} SettingSpec */
/** @typedef {import('../../protocol/control.js').ControlReply} ControlReply */
/** @typedef {import('../../protocol/control.js').ControlRequest} ControlRequest */
/**
 * @template {import('../../protocol/control.js').ControlCommand} C
 * @typedef {import('../../protocol/control.js').ControlResult<C>} ControlResult
 */

/** An Error from the server's reply, with its error code (BAD_REQUEST, NOT_ALLOWED, …) when it gave one. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string | undefined} code
   */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/**
 * Parses JSON the server sent. Its shape is the caller's to state: the server and this page are
 * two halves of one program, written against the same types (src/protocol, src/web).
 * @template T
 * @param {string} text
 * @returns {T}
 */
export function parseJson(text) {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- the one place the page takes the wire's shape on trust
  return JSON.parse(text);
}

/** The message of anything caught, for people. @param {unknown} error */
export function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Sends a control request; resolves with the result, rejects with an Error whose message is for people.
 * @template {ControlRequest} R
 * @param {R} request
 * @returns {Promise<ControlResult<R['cmd']>>}
 */
export async function command(request) {
  let response;
  try {
    response = await fetch('/api/command', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch {
    throw new Error('labcast serve is not reachable (is it still running?)');
  }
  return /** @type {ControlResult<R['cmd']>} */ (await unwrap(response));
}

/**
 * A GET of the API; the caller states what the path answers with.
 * @template T
 * @param {string} path
 * @returns {Promise<T>}
 */
export async function getJson(path) {
  let response;
  try {
    response = await fetch(path);
  } catch {
    throw new Error('labcast serve is not reachable (is it still running?)');
  }
  return /** @type {T} */ (await unwrap(response));
}

/**
 * @param {Response} response
 * @returns {Promise<unknown>}
 */
async function unwrap(response) {
  /** @type {Partial<ControlReply>} */
  let reply;
  try {
    reply = parseJson(await response.text());
  } catch {
    throw new Error(`unexpected reply from the server (HTTP ${response.status})`);
  }
  if (reply.ok === true) return reply.result;
  const error = reply.ok === false ? reply.error : undefined;
  throw new ApiError(error?.message ?? `HTTP ${response.status}`, error?.code);
}

/** @param {string} path */
export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/**
 * Calls onStatus with every status; reconnects after a drop; onConnection(true|false).
 * @param {(status: ExperimentStatus) => void} onStatus
 * @param {(connected: boolean) => void} onConnection
 */
export function watchStatus(onStatus, onConnection) {
  const open = () => {
    const socket = new WebSocket(wsUrl('/ws/status'));
    socket.onopen = () => onConnection(true);
    /** @param {MessageEvent<string>} event */
    socket.onmessage = (event) => {
      /** @type {{ type: string, status: ExperimentStatus }} */
      const message = parseJson(event.data);
      if (message.type === 'status') onStatus(message.status);
    };
    socket.onclose = () => {
      onConnection(false);
      setTimeout(open, 1000);
    };
  };
  open();
}
