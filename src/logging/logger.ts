import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config.js';
import { currentRequestId } from './request-context.js';


/**
 * Field paths whose values never reach the log, whoever logs them. This is
 * the second line of defence: callers already avoid logging secrets, but an
 * access line carries the request's headers and query, and those hold
 * cookies, bearer tokens, the callback's signatures and echostr, OAuth codes
 * and one-time tokens.
 */
export const redactedPaths = [
  'headers.cookie',
  'headers.authorization',
  'headers["x-csrf-token"]',
  'headers["proxy-authorization"]',
  'query.signature',
  'query.msg_signature',
  'query.echostr',
  'query.code',
  'query.state',
  'query.t',
  'query.token',
  'query.access_token',
  'query.secret',
  'query.appsecret',
  'query.js_code',
  'query.ticket',
  'query.id_token_hint',
  'query.refresh_token',
  'query.code_verifier',
  'query.logout_hint',
  'body',
  'token',
  'accessToken',
  'access_token',
  'secret',
  'password',
  'smsCode',
  '*.token',
  '*.access_token',
  '*.secret',
  '*.password',
  '*.smsCode',
];

export interface CreateLoggerOptions {
  level?: LogLevel;
  /** Where the JSON lines go; standard output by default. Tests pass a stream that collects them. */
  destination?: DestinationStream;
}

/**
 * What the app's parts log through. Built on pino (createLogger below),
 * which adds the request id and redaction; tests may pass a plain collector.
 */
export interface Logger {
  /** Optional, so that a collector needs only the three levels; probes' access lines use it. */
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The logger every part of the app receives: the `Logger` interface, plus `debug` and the pino instance. */
export interface AppLogger extends Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  pino: PinoLogger;
}

/**
 * JSON lines through pino: ISO time, the level as a word, redaction by
 * configuration, and the current request's id on every line written while
 * that request is being served (AsyncLocalStorage).
 */
export function createLogger(options: CreateLoggerOptions = {}): AppLogger {
  const instance = pino(
    {
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      mixin() {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    // Standard output, written asynchronously: a line goes out at once when no write is under way, and
    // the lines that arrive during a write go out together in the next one. Every callback and poll
    // writes an access line, and under load the blocking write per line was the largest single cost
    // in the server's profile (BENCHMARKS.md). pino flushes what is pending synchronously on exit,
    // process.exit included, so the last lines are not lost; only a SIGKILL can lose the pending ones.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
    fields ? instance[level](fields, message) : instance[level](message);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), pino: instance };
}

/** One JSON line per event on standard output, through pino; `quiet` keeps only errors. */
export function createConsoleLogger(quiet = false): Logger {
  return createLogger({ level: quiet ? 'error' : 'info' });
}
