import { invalidAuthCodeErrcodes } from './constants.js';
import { InvalidAuthCodeError, WechatError, WechatNetworkError } from './errors.js';
import type { Metrics } from '../metrics/metrics.js';

export interface WechatHttpOptions {
  apiBase: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  /** Counts calls and errors by API path (never by query: it holds the access_token). */
  metrics?: Metrics;
}

type Query = Record<string, string | undefined>;

/**
 * JSON over HTTP to WeChat's API. Every answer's errcode is checked straight
 * after parsing; failures become WechatError or WechatNetworkError, and no
 * request outlives `timeoutMs`. Query values (tokens included) are never logged.
 */
export function createWechatHttp(options: WechatHttpOptions) {
  const doFetch = options.fetch ?? fetch;

  async function request<T>(method: 'GET' | 'POST', path: string, query: Query, body?: unknown): Promise<T> {
    options.metrics?.wechatApiCalls.inc({ api: path });
    try {
      return await send<T>(method, path, query, body);
    } catch (error) {
      const errcode = error instanceof WechatError ? String(error.errcode) : 'network';
      options.metrics?.wechatApiErrors.inc({ api: path, errcode });
      throw error;
    }
  }

  async function send<T>(method: 'GET' | 'POST', path: string, query: Query, body?: unknown): Promise<T> {
    const url = new URL(options.apiBase + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : 'connection failed';
      throw new WechatNetworkError(path, reason);
    }
    if (!response.ok) throw new WechatNetworkError(path, `HTTP ${response.status}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
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
    return json as T;
  }

  return {
    get: <T>(path: string, query: Query) => request<T>('GET', path, query),
    post: <T>(path: string, query: Query, body: unknown) => request<T>('POST', path, query, body),
  };
}

export type WechatHttp = ReturnType<typeof createWechatHttp>;
