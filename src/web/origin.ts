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
