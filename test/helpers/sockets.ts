import { afterEach } from 'node:test';
import { ControlServer, type ControlHandler } from '../../src/transport/control-server.js';

interface Closable {
  close(): unknown;
}

/**
 * Sockets, servers and clients opened by the tests of the calling file, each
 * closed after the test that opened it, so no test leaks one into the next.
 */
export function closedAfterEachTest(): {
  readonly open: Closable[];
  readonly serveControl: (handler: ControlHandler, endpoint?: string) => Promise<ControlServer>;
} {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const thing of open.splice(0)) await thing.close();
  });
  return {
    open,
    async serveControl(handler, endpoint = 'tcp://127.0.0.1:*') {
      const server = await ControlServer.bind(endpoint, handler);
      open.push(server);
      return server;
    },
  };
}
