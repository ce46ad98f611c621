import { resolve } from 'node:path';
import { isLabcastError, LabcastError } from '../protocol/errors.js';
import { generateKeyPair, readPublicKeyFile, writeKeyFiles } from '../transport/curve.js';
import { booleanFlag, parseFlags, stringFlag, type FlagValues } from './args.js';
import { EXIT } from './exit-codes.js';

export const KEYS_USAGE = `usage: labcast keys [--out DIR] [--name NAME] [--overwrite] [--json]

Makes a ZeroMQ CURVE key pair for labcast serve and prints its public key:
  DIR/NAME.key          the public key: give it to every client (readable by all)
  DIR/NAME.key_secret   the secret key: stays on the serve machine (mode 0600)
Both are ZeroMQ certificates (pyzmq: zmq.auth.load_certificate reads them).

Then in serve's config:
  security:
    server_public_key_file: DIR/NAME.key
    server_secret_key_file: DIR/NAME.key_secret
and on every client: labcast ctl --server-key DIR/NAME.key ...,
labcast save --server-key DIR/NAME.key ... (see docs/config.md#security).

options
  --out DIR       where to write them (default .; created if missing)
  --name NAME     file name stem (default labcast)
  --overwrite     replace an existing pair (every client of the old one is locked out)
  --json          print {"public_key", "public_key_file", "secret_key_file"} as JSON
`;

export async function keysCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('keys', argv, {
    out: { type: 'string' },
    name: { type: 'string' },
    overwrite: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (booleanFlag(values, 'help')) {
    process.stdout.write(KEYS_USAGE);
    return EXIT.ok;
  }
  const dir = resolve(stringFlag(values, 'out') ?? '.');
  const name = stringFlag(values, 'name') ?? 'labcast';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `--name must be a plain file name stem (letters, digits, . _ -), got ${JSON.stringify(name)}`,
      '--name',
    );
  }
  const pair = generateKeyPair();
  const written = writeKeyFiles(dir, name, pair, booleanFlag(values, 'overwrite'));
  if (booleanFlag(values, 'json')) {
    process.stdout.write(
      `${JSON.stringify({ public_key: pair.publicKey, public_key_file: written.publicKeyFile, secret_key_file: written.secretKeyFile })}\n`,
    );
  } else {
    process.stdout.write(`${pair.publicKey}\n`);
    process.stderr.write(
      [
        `labcast keys: wrote ${written.publicKeyFile} (public: give it to clients)`,
        `              and ${written.secretKeyFile} (secret, mode 0600: keep it on the serve machine)`,
        "In serve's config:",
        '  security:',
        `    server_public_key_file: ${written.publicKeyFile}`,
        `    server_secret_key_file: ${written.secretKeyFile}`,
        `Clients: labcast ctl --server-key ${written.publicKeyFile} ... / labcast save --server-key ${written.publicKeyFile} ...`,
        '',
      ].join('\n'),
    );
  }
  return EXIT.ok;
}

/** The server key of `--server-key FILE`, or null without the flag; a bad file is BAD_ARGUMENT naming the flag. */
export function serverKeyFlag(values: FlagValues): string | null {
  const path = stringFlag(values, 'server-key');
  if (path === undefined) return null;
  try {
    return readPublicKeyFile(resolve(path), '--server-key');
  } catch (error) {
    if (isLabcastError(error)) throw new LabcastError('BAD_ARGUMENT', error.message, '--server-key');
    throw error;
  }
}
