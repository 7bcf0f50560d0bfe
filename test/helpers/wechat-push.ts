import { simulatorOriginalId } from '../../src/config.js';
import { computeSignature } from '../../src/wechat/signature.js';

export const testToken = 'dev-token';

/** The query WeChat adds to a callback: signature, timestamp, nonce (signed with `token`). */
export function signedQuery(options: { token?: string; timestamp?: number; nonce?: string; extra?: Record<string, string> } = {}): URLSearchParams {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? Math.random().toString(36).slice(2);
  const query = new URLSearchParams({
    signature: computeSignature([options.token ?? testToken, timestamp, nonce]),
    timestamp,
    nonce,
    ...options.extra,
  });
  return query;
}

export function eventXml(fields: { openid: string; event: string; eventKey?: string; createTime?: number; toUser?: string; ticket?: string }): string {
  return (
    `<xml><ToUserName><![CDATA[${fields.toUser ?? simulatorOriginalId}]]></ToUserName>` +
    `<FromUserName><![CDATA[${fields.openid}]]></FromUserName>` +
    `<CreateTime>${fields.createTime ?? Math.floor(Date.now() / 1000)}</CreateTime>` +
    `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[${fields.event}]]></Event>` +
    (fields.eventKey === undefined ? '' : `<EventKey><![CDATA[${fields.eventKey}]]></EventKey>`) +
    (fields.ticket ? `<Ticket><![CDATA[${fields.ticket}]]></Ticket>` : '') +
    '</xml>'
  );
}

export async function postCallback(baseUrl: string, query: URLSearchParams, body: string | Buffer, contentType = 'text/xml') {
  const response = await fetch(`${baseUrl}/wechat/callback?${query}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

/** The Content of a plaintext passive reply. */
export function replyContent(xml: string): string | undefined {
  return xml.match(/<Content><!\[CDATA\[([\s\S]*?)\]\]><\/Content>/)?.[1];
}
