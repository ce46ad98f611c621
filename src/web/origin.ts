import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LabcastError } from '../protocol/errors.js';
import { isLoopbackHost } from '../protocol/endpoints.js';

/**
 * Same-origin check for requests that change something (POST) and for
 * WebSocket upgrades: a browser sends Origin with both, so a page from another
 * site (or a DNS-rebound name) cannot drive the camera through the visitor's
 * browser. Requests without Origin (curl, scripts) are not browser requests
 * and are let through, like the ZeroMQ control API itself.
 */

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * True when `origin` is this server as the browser reached it: the page's
 * scheme is http, its host:port is the Host the request was sent to, and that
 * host name is one this server answers to — a loopback name, the configured
 * listen address, or any name when it listens on all interfaces.
 */
export function isOwnOrigin(origin: string, hostHeader: string | undefined, listenHost: string): boolean {
  if (hostHeader === undefined || hostHeader === '') return false;
  let page: URL;
  let target: URL;
  try {
    page = new URL(origin);
    target = new URL(`http://${hostHeader}`);
  } catch {
    return false;
  }
  if (page.protocol !== 'http:' || page.host !== target.host) return false;
  if (WILDCARD_HOSTS.has(listenHost)) return true;
  const listen = listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost;
  return LOOPBACK_HOSTNAMES.has(target.hostname) || target.hostname === listen.toLowerCase();
}

// ---- access token (off loopback) ----

/** The cookie that keeps a browser's access token after its first visit with ?token=. */
export const TOKEN_COOKIE = 'labcast_token';
/** Tokens shorter than this are too easy to guess. */
export const MIN_TOKEN_LENGTH = 16;

export interface WebAccess {
  /** The token every request must carry; null = none needed (loopback, no token file). */
  readonly token: string | null;
  /** True when made at start (serve prints it once, in the URL). */
  readonly generated: boolean;
}

/**
 * The web UI's access token: the one in web.token_file if given, else — when
 * the UI listens beyond loopback, where anyone on the network could drive the
 * camera — a fresh random one; none on loopback (127.0.0.0/8, ::1, localhost).
 */
export function webAccessToken(web: { readonly host: string; readonly token_file?: string | undefined }): WebAccess {
  if (web.token_file !== undefined) return { token: readTokenFile(web.token_file), generated: false };
  if (isLoopbackHost(web.host)) return { token: null, generated: false };
  return { token: randomBytes(24).toString('base64url'), generated: true };
}

function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LabcastError('BAD_CONFIG', `web.token_file: cannot read ${path} (${(error as Error).message})`, 'web.token_file');
  }
  const token = text.trim();
  // Characters that travel unchanged in a URL (?token=) and in a cookie.
  if (!new RegExp(`^[A-Za-z0-9._~-]{${MIN_TOKEN_LENGTH},}$`).test(token)) {
    throw new LabcastError(
      'BAD_CONFIG',
      `web.token_file: ${path} must hold one token of at least ${MIN_TOKEN_LENGTH} characters, ` +
        `each a letter, digit or one of . _ ~ - (e.g. the output of: openssl rand -hex 24)`,
      'web.token_file',
    );
  }
  return token;
}

/** How a request presented the token, if it did: ?token=, the cookie, or Authorization: Bearer. */
export function presentedToken(
  url: string,
  headers: { readonly cookie?: string | undefined; readonly authorization?: string | undefined },
): { readonly token: string; readonly from: 'query' | 'cookie' | 'header' } | null {
  const query = new URL(url, 'http://labcast').searchParams.get('token');
  if (query !== null) return { token: query, from: 'query' };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (bearer !== null) return { token: bearer[1]!, from: 'header' };
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return { token: value.join('='), from: 'cookie' };
  }
  return null;
}

/** Compares in constant time, so the token cannot be guessed a character at a time. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
