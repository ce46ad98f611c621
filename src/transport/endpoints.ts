import type { Socket } from 'zeromq';
import { LabcastError } from '../protocol/errors.js';

/** Binds and returns the endpoint actually bound (resolves `tcp://host:*`). */
export async function bindEndpoint(socket: Socket, endpoint: string, role: string): Promise<string> {
  try {
    await socket.bind(endpoint);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new LabcastError(
        'ENDPOINT_IN_USE',
        `the ${role} endpoint ${endpoint} is already in use (is another labcast running?); ` +
          `choose another one, or tcp://127.0.0.1:* for any free port`,
        role,
      );
    }
    throw new LabcastError('BAD_ARGUMENT', `cannot bind the ${role} endpoint ${endpoint}: ${(error as Error).message}`, role);
  }
  return socket.lastEndpoint ?? endpoint;
}
