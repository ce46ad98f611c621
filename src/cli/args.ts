import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LabcastError } from '../protocol/errors.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | undefined>;

/** parseArgs in strict mode, with its errors turned into ones naming the flag. */
export function parseFlags(
  command: string,
  argv: string[],
  options: FlagSpec,
  positionals = 0,
): { values: FlagValues; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: negativeValuesJoined(argv, options), options, strict: true, allowPositionals: positionals > 0 });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new LabcastError('BAD_ARGUMENT', `labcast ${command}: ${message}`);
  }
  if (parsed.positionals.length > positionals) {
    throw new LabcastError('BAD_ARGUMENT', `labcast ${command}: unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`);
  }
  return { values: parsed.values as FlagValues, positionals: parsed.positionals };
}

/**
 * `--brightness -20` as `--brightness=-20`: parseArgs refuses a value that
 * starts with "-" as ambiguous, but no labcast flag looks like a number, so a
 * negative number after a flag that takes a value is that flag's value.
 */
export function negativeValuesJoined(argv: readonly string[], options: FlagSpec): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    if (token === '--') return [...joined, ...argv.slice(i)];
    const name = /^--([^=]+)$/.exec(token)?.[1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      joined.push(`${token}=${next}`);
      i++;
    } else {
      joined.push(token);
    }
  }
  return joined;
}

const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity)/;

interface NumberRule {
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/** A numeric flag, or undefined when absent; errors name the flag and the accepted range. */
export function numberFlag(values: FlagValues, name: string, rule: NumberRule = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const flag = `--${name}`;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  const range =
    rule.min !== undefined && rule.max !== undefined
      ? ` between ${rule.min} and ${rule.max}`
      : rule.min !== undefined
        ? ` >= ${rule.min}`
        : '';
  const kind = rule.integer ? 'a whole number' : 'a number';
  if (!Number.isFinite(value) || (rule.integer && !Number.isInteger(value))) {
    throw new LabcastError('BAD_ARGUMENT', `${flag} must be ${kind}${range} (got ${JSON.stringify(raw)})`, flag);
  }
  if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
    throw new LabcastError('BAD_ARGUMENT', `${flag} must be ${kind}${range} (got ${raw})`, flag);
  }
  return value;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

export function booleanFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}
