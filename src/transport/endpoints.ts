import type { Socket } from 'zeromq';
import { LabcastError } from '../protocol/errors.js';

/** Default endpoints; everything binds loopback unless configured otherwise. */
export const DEFAULT_ENDPOINTS = {
  /** Every frame, for viewers and analysis (lossy under backpressure, gaps visible by seq). */
  data: 'tcp://127.0.0.1:5555',
  /** Control requests (labcast serve). */
  control: 'tcp://127.0.0.1:5556',
  /** The lossless path to the saver. */
  record: 'tcp://127.0.0.1:5557',
  /** Status updates from the experiment controller, for every view. */
  status: 'tcp://127.0.0.1:5558',
  /** Analysis results, for subscribers (serve's XPUB). */
  results: 'tcp://127.0.0.1:5559',
  /** Where analysis processes publish their results (serve's XSUB). */
  results_in: 'tcp://127.0.0.1:5560',
} as const;

const ENDPOINT_PATTERN = /^(tcp:\/\/[^\s]+:(\d+|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/;

export function checkEndpoint(endpoint: string, field: string): string {
  if (!ENDPOINT_PATTERN.test(endpoint)) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `${field}: ${JSON.stringify(endpoint)} is not a ZeroMQ endpoint (expected tcp://HOST:PORT, tcp://HOST:* or ipc://PATH)`,
      field,
    );
  }
  return endpoint;
}

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
