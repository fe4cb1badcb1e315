import { constants } from 'node:os';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how the command was called: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** `util.parseArgs`, strict, with its errors turned into a {@link UsageError} naming the command. */
export function parseFlags<const O extends OptionSpec>(
  command: string,
  argv: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

const DURATION = /^(\d+)(ms|s|m|h)?$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `250ms`, `30s`, `5m`, `1h`, or a bare number of milliseconds. */
export function parseDuration(flag: string, value: string | undefined, min = 0, max = 2 ** 31 - 1): number | undefined {
  if (value === undefined) return undefined;
  const match = DURATION.exec(value.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  if (!Number.isSafeInteger(ms) || ms < min || ms > max) {
    throw new UsageError(
      `--${flag} must be a duration such as 500ms, 30s or 5m${min > 0 ? `, at least ${min} ms` : ''}, received ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** A whole number from `min` to `max`. */
export function parseInteger(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, received ${JSON.stringify(value)}`);
  }
  return number;
}

const SIZE = /^(\d+)(b|kib|mib|gib)?$/i;
const UNIT_BYTES: Readonly<Record<string, number>> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `1048576`, `512KiB`, `64MiB`, `1GiB`. */
export function parseSize(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = SIZE.exec(value.trim());
  const bytes = match === null ? Number.NaN : Number(match[1]) * (UNIT_BYTES[(match[2] ?? 'b').toLowerCase()] ?? 1);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(`--${flag} must be a size such as 64MiB, received ${JSON.stringify(value)}`);
  }
  return bytes;
}

/** One of `choices`. */
export function parseChoice<C extends string>(
  flag: string,
  value: string | undefined,
  choices: readonly C[],
): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, received ${JSON.stringify(value)}`);
  }
  return value as C;
}

/** `HUP` or `SIGHUP` → `SIGHUP`, refusing names this platform does not know. */
export function parseSignal(flag: string, value: string | undefined): NodeJS.Signals | undefined {
  if (value === undefined) return undefined;
  const name = (
    value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`
  ) as NodeJS.Signals;
  if (!(name in constants.signals)) {
    throw new UsageError(`--${flag} must be a signal name such as HUP or USR1, received ${JSON.stringify(value)}`);
  }
  return name;
}
