import { hostname } from 'node:os';
import { isS3SyncError } from 's3-sqs-sync';

/** Pino's numeric levels, so log pipelines built for pino read these lines unchanged. */
export const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LevelName = keyof typeof LEVELS;
export type LogFormat = 'json' | 'pretty';

export interface CliLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  fatal(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level: LevelName;
  /** Where lines go. */
  readonly write: (line: string) => void;
  /** For tests and for the pretty clock. */
  readonly now?: (() => number) | undefined;
}

/** An error as a log field: a package error's `toJSON()`, or the parts of any other error that say what happened. */
export function errorField(error: unknown): Record<string, unknown> {
  if (isS3SyncError(error)) return { ...error.toJSON() };
  if (error instanceof Error) {
    const { code, $metadata } = error as { code?: unknown; $metadata?: { httpStatusCode?: number } };
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...($metadata?.httpStatusCode === undefined ? {} : { httpStatusCode: $metadata.httpStatusCode }),
    };
  }
  return { message: String(error) };
}

const PRETTY_LABEL: Readonly<Record<number, string>> = {
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /[\s="]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

/** One JSON object per line (`level`, `time`, `pid`, `hostname`, `msg`, then the fields), or a readable one-liner. */
export function createLogger(options: LoggerOptions): CliLogger {
  const { format, write } = options;
  const now = options.now ?? Date.now;
  const threshold = LEVELS[options.level];
  const base = { pid: process.pid, hostname: hostname() };
  const log = (level: number, msg: string, fields: Record<string, unknown> = {}) => {
    if (level < threshold) return;
    const time = now();
    if (format === 'json') {
      // A field may not pass for the line's own keys (a target's `pid` read as the writer's): those win.
      const line = { level, time, ...base, msg, ...fields };
      Object.assign(line, { level, time, ...base, msg });
      write(`${JSON.stringify(line)}\n`);
      return;
    }
    const clock = new Date(time).toISOString().slice(11, 23);
    const rest = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${prettyValue(value)}`)
      .join(' ');
    write(`${clock} ${PRETTY_LABEL[level] ?? level} ${msg}${rest === '' ? '' : ` ${rest}`}\n`);
  };
  return {
    debug: (msg, fields) => log(LEVELS.debug, msg, fields),
    info: (msg, fields) => log(LEVELS.info, msg, fields),
    warn: (msg, fields) => log(LEVELS.warn, msg, fields),
    error: (msg, fields) => log(LEVELS.error, msg, fields),
    fatal: (msg, fields) => log(LEVELS.fatal, msg, fields),
  };
}

/** The `Logger` shape `SqsListener` takes (`(fields, message)`), writing through `logger`. */
export function listenerLogger(logger: CliLogger) {
  const adapt =
    (method: (msg: string, fields?: Record<string, unknown>) => void) => (fields: object, message?: string) => {
      const { err, ...rest } = fields as Record<string, unknown>;
      // The listener hands over raw SDK errors, which JSON.stringify writes as `{}`.
      method(message ?? 'sqs listener', {
        component: 'listener',
        ...rest,
        ...(err === undefined ? {} : { err: errorField(err) }),
      });
    };
  return {
    debug: adapt(logger.debug),
    info: adapt(logger.info),
    warn: adapt(logger.warn),
    error: adapt(logger.error),
  };
}
