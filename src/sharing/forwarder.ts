import { request } from 'undici';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { aesKeyFromEncodingAesKey } from '../wechat/message-crypto.js';
import { parseXmlFields } from '../wechat/messages.js';
import { buildSignedPush, openReplyXml } from '../wechat/signed-push.js';

export interface ForwarderDeps {
  /** WECHAT_FORWARD_URL, _TOKEN, _AES_KEY, _TIMEOUT_MS. */
  url: string;
  token: string;
  encodingAesKey?: string;
  timeoutMs: number;
  /** The account's appid and original ID: the forwarded push is the account's, as WeChat's is. */
  appId: string;
  accountId: string;
  metrics?: Metrics;
  logger?: Pick<Logger, 'warn'>;
  now?: () => number;
}

/** A business reply larger than this is no passive reply WeChat would take: dropped. */
const maxReplyBytes = 64 * 1024;

export type ForwardOutcome = 'replied' | 'empty' | 'timeout' | 'down' | 'error' | 'garbage';

/**
 * Passes a push on to the business's own WeChat server exactly as WeChat would
 * send it: the original XML, signed with WECHAT_FORWARD_TOKEN, and in safe
 * mode encrypted with WECHAT_FORWARD_AES_KEY for the account's appid, so that
 * its SDK (co-wechat, wechatpy, EasyWeChat, WxJava) serves it unchanged.
 * Returns the business's passive reply as plaintext XML, or undefined: late,
 * down, an error status, `success` or garbage never fail the caller.
 */
export function createForwarder(deps: ForwarderDeps) {
  const now = deps.now ?? Date.now;
  const key = deps.encodingAesKey ? aesKeyFromEncodingAesKey(deps.encodingAesKey) : undefined;

  async function forward(xml: string, openid: string): Promise<string | undefined> {
    const stopTimer = deps.metrics?.forwardDuration.startTimer();
    // Never throws: a forward runs beside the login's own work, and may not be awaited.
    const { outcome, reply } = await send(xml, openid).catch(() => ({ outcome: 'error' as const, reply: undefined }));
    stopTimer?.({ outcome });
    deps.metrics?.forwards.inc({ outcome });
    if (outcome !== 'replied' && outcome !== 'empty') deps.logger?.warn('push not delivered to the business server', { outcome });
    return reply;
  }

  async function send(xml: string, openid: string): Promise<{ outcome: ForwardOutcome; reply?: string }> {
    const push = buildSignedPush(xml, { token: deps.token, appId: deps.appId, accountId: deps.accountId, key, openid, timestamp: String(Math.floor(now() / 1000)) });
    const url = new URL(deps.url);
    for (const [name, value] of push.query) url.searchParams.set(name, value);
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    let text: string | undefined;
    try {
      const response = await request(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body, signal: timeout });
      if (response.statusCode < 200 || response.statusCode > 299) {
        await response.body.dump();
        return { outcome: 'error' };
      }
      text = await readAtMost(response.body, maxReplyBytes);
    } catch {
      return { outcome: timeout.aborted ? 'timeout' : 'down' };
    }
    if (text === undefined) return { outcome: 'garbage' };
    if (text === '' || text === 'success') return { outcome: 'empty' };
    try {
      // Checked as WeChat would check it: with a key, only an encrypted reply signed with the business's Token and
      // sealed for this appid; and addressed back along this very exchange.
      if (key && !text.includes('<Encrypt>')) return { outcome: 'garbage' };
      const reply = await openReplyXml(text, { token: deps.token, appId: deps.appId, key });
      const fields = await parseXmlFields(reply);
      const addressed = fields.ToUserName === openid && (!deps.accountId || fields.FromUserName === deps.accountId) && Boolean(fields.MsgType);
      return addressed ? { outcome: 'replied', reply } : { outcome: 'garbage' };
    } catch {
      return { outcome: 'garbage' };
    }
  }

  /** The body as text, or undefined past `limit` bytes (then the rest is not read). */
  async function readAtMost(body: AsyncIterable<Buffer> & { destroy(): unknown }, limit: number): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8').trim();
  }

  return { forward };
}

export type Forwarder = ReturnType<typeof createForwarder>;
