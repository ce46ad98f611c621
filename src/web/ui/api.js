// Talking to labcast serve: the control API over HTTP, the status stream over a WebSocket.

/** Sends a control request; resolves with the result, rejects with an Error whose message is for people. */
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
  return unwrap(response);
}

export async function getJson(path) {
  let response;
  try {
    response = await fetch(path);
  } catch {
    throw new Error('labcast serve is not reachable (is it still running?)');
  }
  return unwrap(response);
}

async function unwrap(response) {
  let reply;
  try {
    reply = await response.json();
  } catch {
    throw new Error(`unexpected reply from the server (HTTP ${response.status})`);
  }
  if (reply.ok) return reply.result;
  const error = new Error(reply.error?.message ?? `HTTP ${response.status}`);
  error.code = reply.error?.code;
  throw error;
}

export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/** Calls onStatus with every status; reconnects after a drop; onConnection(true|false). */
export function watchStatus(onStatus, onConnection) {
  let socket;
  const open = () => {
    socket = new WebSocket(wsUrl('/ws/status'));
    socket.onopen = () => onConnection(true);
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'status') onStatus(message.status);
    };
    socket.onclose = () => {
      onConnection(false);
      setTimeout(open, 1000);
    };
  };
  open();
}
