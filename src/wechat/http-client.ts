import { request as undiciRequest } from 'undici';
import type { z } from 'zod';
import { checkAnswer } from './answer-check.js';
import { invalidAuthCodeErrcodes } from './constants.js';
import { InvalidAuthCodeError, WechatError, WechatNetworkError } from './errors.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';

export interface WechatHttpOptions {
  apiBase: string;
  timeoutMs: number;
  /** Counts calls and errors by API path (never by query: it holds the access_token). */
  metrics?: Metrics;
  /** Told which fields of an answer were left out because they did not fit (names only, never values). */
  logger: Pick<Logger, 'warn'>;
}

type Query = Record<string, string | undefined>;

/**
 * JSON over HTTP to WeChat's API. Every answer's errcode is checked straight
 * after parsing (a WechatError), then the answer against the caller's zod
 * schema: what does not fit is left out with a warning, or is a
 * WechatAnswerError where the caller needs it (answer-check.ts). An
 * unreachable or silent WeChat is a WechatNetworkError: no request outlives
 * `timeoutMs`. Query values (tokens included) are never logged.
 * Sent with undici's `request` (the client under Node's fetch, without the
 * WHATWG streams): a third of fetch's CPU per call, which counts when every
 * login sends a notice and every newcomer asks for a unionid (BENCHMARKS.md).
 */
export function createWechatHttp(options: WechatHttpOptions) {
  async function request<S extends z.ZodType>(method: 'GET' | 'POST', path: string, query: Query, schema: S, body?: unknown): Promise<z.output<S>> {
    options.metrics?.wechatApiCalls.inc({ api: path });
    try {
      const { answer, dropped } = checkAnswer(schema, jsonOf(path, await send(method, path, query, body)), path);
      if (dropped.length > 0) options.logger.warn('WeChat answer: left out what did not fit', { api: path, dropped });
      return answer;
    } catch (error) {
      const errcode = error instanceof WechatError ? String(error.errcode) : 'network';
      options.metrics?.wechatApiErrors.inc({ api: path, errcode });
      throw error;
    }
  }

  /**
   * An API that answers an image (wxa/getwxacodeunlimit): its bytes, or the
   * WechatError of the JSON it answers instead when it refuses.
   */
  async function postForImage(path: string, query: Query, body: unknown): Promise<Buffer> {
    options.metrics?.wechatApiCalls.inc({ api: path });
    try {
      const answer = await send('POST', path, query, body);
      if (answer.contentType.startsWith('image/') && answer.bytes.length > 0) return answer.bytes;
      jsonOf(path, answer);
      throw new WechatNetworkError(path, 'the answer is not an image');
    } catch (error) {
      options.metrics?.wechatApiErrors.inc({ api: path, errcode: error instanceof WechatError ? String(error.errcode) : 'network' });
      throw error;
    }
  }

  async function send(method: 'GET' | 'POST', path: string, query: Query, body?: unknown): Promise<{ contentType: string; bytes: Buffer }> {
    const url = new URL(options.apiBase + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let status: number;
    let contentType: string;
    let bytes: Buffer;
    try {
      const response = await undiciRequest(url, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeout,
      });
      status = response.statusCode;
      contentType = String(response.headers['content-type'] ?? '');
      bytes = Buffer.from(await response.body.arrayBuffer());
    } catch {
      throw new WechatNetworkError(path, timeout.aborted ? `no answer within ${options.timeoutMs} ms` : 'connection failed');
    }
    if (status < 200 || status > 299) throw new WechatNetworkError(path, `HTTP ${status}`);
    return { contentType, bytes };
  }

  /** The answer as a JSON object, its errcode checked straight after parsing. */
  function jsonOf(path: string, answer: { bytes: Buffer }): object {
    let json: unknown;
    try {
      json = JSON.parse(answer.bytes.toString('utf8'));
    } catch {
      throw new WechatNetworkError(path, 'the answer is not JSON');
    }
    if (json === null || typeof json !== 'object') throw new WechatNetworkError(path, 'the answer is not a JSON object');
    const { errcode, errmsg } = json as { errcode?: unknown; errmsg?: unknown };
    if (typeof errcode === 'number' && errcode !== 0) {
      // Checked straight after parsing, here and nowhere else: a bad code is the caller's, anything else WeChat's.
      const ErrorType = invalidAuthCodeErrcodes.includes(errcode) ? InvalidAuthCodeError : WechatError;
      throw new ErrorType(errcode, typeof errmsg === 'string' ? errmsg : '', path);
    }
    return json;
  }

  return {
    get: <S extends z.ZodType>(path: string, query: Query, schema: S) => request('GET', path, query, schema),
    post: <S extends z.ZodType>(path: string, query: Query, body: unknown, schema: S) => request('POST', path, query, schema, body),
    postForImage,
  };
}

export type WechatHttp = ReturnType<typeof createWechatHttp>;
