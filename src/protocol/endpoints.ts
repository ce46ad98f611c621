import { LabcastError } from './errors.js';

/**
 * The ZeroMQ endpoints of labcast as addresses: their defaults (docs/protocol.md),
 * their syntax, and which of them only this machine can reach. Pure, so that the
 * config can check them; transport/endpoints.ts binds them.
 */

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

// ---- which addresses only this machine can reach (the rule for when CURVE is required) ----

/**
 * True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost.
 * Anything else (0.0.0.0, *, an interface name, another address) may be
 * reachable from the network.
 */
export function isLoopbackHost(host: string): boolean {
  let bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  if (bare.startsWith('::ffff:')) bare = bare.slice('::ffff:'.length);
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(bare);
  return v4 !== null && v4.slice(1).every((part) => Number(part) <= 255);
}

/** True when only processes on this machine can connect: ipc://, inproc://, or tcp:// on a loopback address. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true;
  const tcp = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  return tcp !== null && isLoopbackHost(tcp[1]!);
}
