import { Webhook } from 'standardwebhooks';
import type { WebhookConfig } from '../config/webhooks.js';
import type { Deliver } from './outbox-worker.js';

export interface WebhookSenderDeps {
  hooks: readonly WebhookConfig[];
  now: () => number;
  /** How long a hook has to answer; a slower one is a failure, tried again later. */
  timeoutMs?: number;
}

/**
 * Sends one webhook from the outbox, signed as Standard Webhooks specifies
 * (by its reference library): `webhook-id` (the message's, the same on every
 * retry), `webhook-timestamp` (this attempt's, in seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. The
 * body is the stored event, byte for byte the same on every attempt. A 2xx
 * answer is delivery; anything else, or no answer in time, is a failure.
 */
export function createWebhookSender(deps: WebhookSenderDeps): Deliver {
  const signers = new Map(deps.hooks.map((hook) => [hook.id, { hook, signer: new Webhook(new Uint8Array(hook.key), { format: 'raw' }) }]));
  return async (message) => {
    const found = signers.get(message.target);
    // A hook removed from WEBHOOKS since the event was written: nobody to send it to.
    if (!found) return 'dropped';
    const body = JSON.stringify(message.payload);
    const at = new Date(deps.now());
    const response = await fetch(found.hook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': message.messageId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': found.signer.sign(message.messageId, at, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    });
    // The answer's body is of no use: dropped unread, whatever its size.
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status > 299) throw new Error(`answered ${response.status}`);
    return 'delivered';
  };
}
