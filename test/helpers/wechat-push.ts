import { simulatorOriginalId } from '../../src/config.js';
import { buildEventXml, signCallbackQuery } from '../../src/wechat/signed-push.js';

export const testToken = 'dev-token';

/** The query WeChat adds to a callback: signature, timestamp, nonce (signed with `token`). */
export function signedQuery(options: { token?: string; timestamp?: number; nonce?: string; extra?: Record<string, string> } = {}): URLSearchParams {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? Math.random().toString(36).slice(2);
  return signCallbackQuery(options.token ?? testToken, timestamp, nonce, options.extra);
}

/** An event push's XML (src/wechat/signed-push.ts), addressed to the simulator's account unless `toUser` says otherwise. */
export function eventXml(fields: { openid: string; event: string; eventKey?: string; createTime?: number; toUser?: string; ticket?: string }): string {
  return buildEventXml({
    toUser: fields.toUser ?? simulatorOriginalId,
    openid: fields.openid,
    createTime: fields.createTime ?? Math.floor(Date.now() / 1000),
    event: fields.event,
    eventKey: fields.eventKey,
    ticket: fields.ticket || undefined,
  });
}

export async function postCallback(baseUrl: string, query: URLSearchParams, body: string | Buffer, contentType = 'text/xml') {
  const response = await fetch(`${baseUrl}/wechat/callback?${query}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

/** The Content of a plaintext passive reply. */
export function replyContent(xml: string): string | undefined {
  return xml.match(/<Content><!\[CDATA\[([\s\S]*?)\]\]><\/Content>/)?.[1];
}
