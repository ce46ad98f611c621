/** The scripts of labcast's child processes, as a supervisor forks them. */
export const ACQUISITION_SCRIPT = new URL('../acquisition/acquisition-process.js', import.meta.url);
export const SAVER_SCRIPT = new URL('../saver/saver-process.js', import.meta.url);

/**
 * The children that make no TLS connection of Node's (camera drivers, ZeroMQ
 * with CURVE, HDF5): they are started without NODE_EXTRA_CA_CERTS, which Node
 * 20 reads and parses in full at every process start (~40 ms CPU for Debian's
 * bundle), whether or not the process ever uses TLS. An analysis loads the
 * user's own module, which might, so it keeps the variable.
 */
export const SCRIPTS_WITHOUT_TLS: ReadonlySet<string> = new Set([ACQUISITION_SCRIPT.href, SAVER_SCRIPT.href]);

/**
 * Where the `labcast` command (bin/labcast) puts NODE_EXTRA_CA_CERTS so that
 * the CLI's own Node does not parse it; the children that keep the variable
 * get it back from here.
 */
export const HANDED_ON_CA_CERTS = 'LABCAST_NODE_EXTRA_CA_CERTS';
