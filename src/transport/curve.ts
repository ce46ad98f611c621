import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Socket } from 'zeromq';
import { LabcastError } from '../protocol/errors.js';

/**
 * ZeroMQ CURVE for labcast's sockets, in one place: the socket options of a
 * CURVE server (every socket labcast binds) and of a CURVE client (every
 * socket that connects to one) and key files. Which endpoints need CURVE (those
 * beyond loopback) is decided by isLoopbackEndpoint in protocol/endpoints.ts.
 *
 * Keys are ZeroMQ's Z85 text: 40 characters for 32 bytes. A server is known by
 * its public key; a client makes a key pair of its own for each socket (the
 * server does not check client keys: knowing the server's public key is what
 * lets a client in, so hand it out to the machines that should connect).
 */

export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** The curve* options of a zeromq.js socket; empty when CURVE is off. */
export interface CurveSocketOptions {
  curveServer?: boolean;
  curvePublicKey?: string;
  curveSecretKey?: string;
  curveServerKey?: string;
}

/** Makes a bound socket a CURVE server with `keys`; no options (plain ZeroMQ) when `keys` is null. */
export function curveServerOptions(keys: CurveKeyPair | null | undefined): CurveSocketOptions {
  if (keys === null || keys === undefined) return {};
  return { curveServer: true, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey };
}

/**
 * Makes a connecting socket a CURVE client of the server whose public key is
 * `serverKey`, with a fresh key pair of its own; no options when `serverKey` is null.
 */
/**
 * zeromq's key maker, loaded on first use: its native addon costs ~20 ms, and
 * labcast record's parent process reads key files here but never makes a key
 * or a socket. (zeromq is CommonJS: require shares the module with the imports.)
 */
function curveKeyPair(): CurveKeyPair {
  return (createRequire(import.meta.url)('zeromq') as typeof import('zeromq')).curveKeyPair();
}

export function curveClientOptions(serverKey: string | null | undefined): CurveSocketOptions {
  if (serverKey === null || serverKey === undefined) return {};
  const own = curveKeyPair();
  return { curveServerKey: serverKey, curvePublicKey: own.publicKey, curveSecretKey: own.secretKey };
}

/**
 * Calls `listener` when a peer fails the security handshake: a wrong or
 * missing server key, or one side using CURVE and the other not. ZeroMQ
 * itself only drops such a connection, which looks like silence.
 */
export function onHandshakeFailure(socket: Socket, listener: (code: string) => void): void {
  const report = (event: { error: Error }): void => listener((event.error as Error & { code?: string }).code ?? event.error.message);
  socket.events.on('handshake:error:protocol', report);
  socket.events.on('handshake:error:auth', report);
  socket.events.on('handshake:error:other', report);
}

/** A plain-words explanation of a client-side handshake failure with `endpoint`. */
export function handshakeFailedMessage(endpoint: string, code: string, usingKey: boolean): string {
  const hint = usingKey
    ? 'check the server key (--server-key FILE must be the public key of the labcast serve there), ' +
      'or leave it out if that server does not use CURVE'
    : 'that server uses CURVE: give its public key (--server-key FILE, the .key file made by `labcast keys`)';
  return `the secure handshake with ${endpoint} failed (${code}): ${hint}`;
}

// ---- keys ----

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
/** PKCS#8 DER of an X25519 private key, before its 32 raw bytes. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function generateKeyPair(): CurveKeyPair {
  return curveKeyPair();
}

export function isZ85Key(text: string): boolean {
  return Z85_KEY.test(text);
}

/** The public key that belongs to a secret key (CURVE keys are X25519 keys). */
export function publicKeyOf(secretKey: string): string {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, z85Decode(secretKey)]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - 32));
}

function z85Decode(text: string): Buffer {
  const out = Buffer.alloc((text.length / 5) * 4);
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    value = value * 85 + Z85.indexOf(text[i]!);
    if (i % 5 === 4) {
      out.writeUInt32BE(value, ((i - 4) / 5) * 4);
      value = 0;
    }
  }
  return out;
}

function z85Encode(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

/**
 * The keys in a key file: a ZeroMQ certificate as `labcast keys`, pyzmq's
 * zmq.auth.create_certificates and czmq write it (`public-key = "..."`,
 * `secret-key = "..."`), or a file holding one bare 40-character key.
 */
export function parseKeyFile(text: string): { publicKey?: string; secretKey?: string; bare?: string } {
  const found: { publicKey?: string; secretKey?: string; bare?: string } = {};
  const publicKey = /^\s*public-key\s*=\s*"([^"]*)"\s*$/m.exec(text)?.[1];
  const secretKey = /^\s*secret-key\s*=\s*"([^"]*)"\s*$/m.exec(text)?.[1];
  if (publicKey !== undefined) found.publicKey = publicKey;
  if (secretKey !== undefined) found.secretKey = secretKey;
  if (publicKey === undefined && secretKey === undefined) {
    const lines = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    if (lines.length === 1) found.bare = lines[0]!;
  }
  return found;
}

function readKeyText(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : (error as Error).message;
    throw new LabcastError('BAD_CONFIG', `${field}: the key file ${path} ${why}; make a key pair with \`labcast keys --out DIR\``, field);
  }
}

function checkKey(key: string | undefined, path: string, field: string, kind: 'public' | 'secret'): string {
  if (key === undefined) {
    throw new LabcastError(
      'BAD_CONFIG',
      `${field}: ${path} holds no CURVE ${kind} key (expected a ZeroMQ certificate from \`labcast keys\`, or one 40-character Z85 key)`,
      field,
    );
  }
  if (!isZ85Key(key)) {
    throw new LabcastError('BAD_CONFIG', `${field}: the ${kind} key in ${path} is not a CURVE key (40 characters of Z85)`, field);
  }
  return key;
}

/** The server public key a client needs, from `path` (`field` names the flag or config key in errors). */
export function readPublicKeyFile(path: string, field: string): string {
  const keys = parseKeyFile(readKeyText(path, field));
  if (keys.secretKey !== undefined) {
    throw new LabcastError(
      'BAD_CONFIG',
      `${field}: ${path} is a secret key file; give the public one (the .key file, not .key_secret)`,
      field,
    );
  }
  return checkKey(keys.publicKey ?? keys.bare, path, field, 'public');
}

export interface ServerKeyFiles {
  readonly publicKeyFile: string;
  readonly secretKeyFile: string;
}

/**
 * The server's key pair from its two files. The secret file must be private
 * to its owner (as ssh insists of its keys), and the two keys must belong together.
 */
export function readServerKeyFiles(
  files: ServerKeyFiles,
  fields: { publicKey: string; secretKey: string } = { publicKey: 'publicKeyFile', secretKey: 'secretKeyFile' },
): CurveKeyPair {
  const publicKey = readPublicKeyFile(files.publicKeyFile, fields.publicKey);
  const text = readKeyText(files.secretKeyFile, fields.secretKey);
  const mode = statSync(files.secretKeyFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new LabcastError(
      'BAD_CONFIG',
      `${fields.secretKey}: the secret key file ${files.secretKeyFile} can be read by other users ` +
        `(mode ${mode.toString(8).padStart(4, '0')}); ` +
        `make it private with: chmod 600 ${files.secretKeyFile}`,
      fields.secretKey,
    );
  }
  const parsed = parseKeyFile(text);
  const secretKey = checkKey(parsed.secretKey ?? parsed.bare, files.secretKeyFile, fields.secretKey, 'secret');
  if (publicKeyOf(secretKey) !== publicKey) {
    throw new LabcastError(
      'BAD_CONFIG',
      `${fields.publicKey}: ${files.publicKeyFile} is not the public key of the secret key ` +
        `in ${files.secretKeyFile} (${fields.secretKey}); ` +
        `give the two files of one pair`,
      fields.publicKey,
    );
  }
  return { publicKey, secretKey };
}

export interface WrittenKeyFiles {
  readonly publicKeyFile: string;
  readonly secretKeyFile: string;
}

/**
 * Writes `pair` as NAME.key (the public certificate, readable by anyone) and
 * NAME.key_secret (mode 0600), the layout of ZeroMQ certificates: pyzmq's
 * zmq.auth.load_certificate reads both.
 */
export function writeKeyFiles(dir: string, name: string, pair: CurveKeyPair, overwrite: boolean): WrittenKeyFiles {
  const publicKeyFile = join(dir, `${name}.key`);
  const secretKeyFile = join(dir, `${name}.key_secret`);
  if (!overwrite) {
    for (const path of [publicKeyFile, secretKeyFile]) {
      if (existsSync(path)) {
        throw new LabcastError(
          'OUTPUT_EXISTS',
          `${path} exists; a new key pair would lock out every client of the old one (--overwrite to replace it)`,
          '--out',
        );
      }
    }
  }
  mkdirSync(dir, { recursive: true });
  // Made anew, so the secret is never written into a file that others can read.
  rmSync(secretKeyFile, { force: true });
  rmSync(publicKeyFile, { force: true });
  const stamp = `#   ****  Generated on ${new Date().toISOString()} by labcast keys  ****\n`;
  writeFileSync(
    publicKeyFile,
    `${stamp}#   ZeroMQ CURVE Public Certificate\n` +
      `#   The labcast serve's public key: give it to every client (labcast ctl/save --server-key).\n` +
      `\nmetadata\ncurve\n    public-key = "${pair.publicKey}"\n`,
    { mode: 0o644 },
  );
  writeFileSync(
    secretKeyFile,
    `${stamp}#   ZeroMQ CURVE **Secret** Certificate\n#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n` +
      `\nmetadata\ncurve\n    public-key = "${pair.publicKey}"\n    secret-key = "${pair.secretKey}"\n`,
    { mode: 0o600 },
  );
  // The modes given above apply to new files only (and through the umask).
  chmodSync(secretKeyFile, 0o600);
  chmodSync(publicKeyFile, 0o644);
  return { publicKeyFile, secretKeyFile };
}
