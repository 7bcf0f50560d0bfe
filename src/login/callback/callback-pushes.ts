import type { CallbackCodec, CallbackQuery } from '../../wechat/callback-codec.js';
import { buildTextReply, deliveryKey } from '../../wechat/messages.js';
import type { DeliveryDeduper } from './delivery-dedupe.js';
import type { Forwarder } from '../../sharing/forwarder.js';
import { emptyReply, type WechatEvents } from './wechat-events.js';

/** The pushes that are never ours alone (CONTRACT.md "Sharing the Official Account"). */
const alwaysForwarded = new Set(['subscribe', 'unsubscribe', 'other']);

export interface CallbackPushesDeps {
  codec: CallbackCodec;
  events: WechatEvents;
  deduper: DeliveryDeduper;
  /** The business's own WeChat server (WECHAT_FORWARD_URL), when there is one. */
  forwarder?: Forwarder;
}

/**
 * What WeChat's calls to our callback do: the URL check, and each event push
 * checked and opened by the codec (which refuses with a CallbackRejectedError),
 * acted on once per delivery, passed on to the business's server unless it is
 * ours alone, and answered with our reply, or the business's, sealed as it came.
 */
export function createCallbackPushes(deps: CallbackPushesDeps) {
  /** GET: the URL check WeChat does when the callback is configured. Returns echostr. */
  function verifyUrl(query: CallbackQuery): string {
    return deps.codec.verifyUrl(query);
  }

  /** POST: one push; returns the reply to send (`success`, or XML sealed like the push). */
  async function answerPush(query: CallbackQuery, readBody: () => Promise<string>): Promise<string> {
    const opened = await deps.codec.open(query, readBody);
    // A retry of a delivery already handled gets the same reply and has no second effect (nor a second forward).
    const reply = await deps.deduper.once(deliveryKey(opened.fields), async () => {
      // A follow, an unfollow or anything else that is never a login goes on at once, beside our own handling,
      // so that the two together stay inside WeChat's 5 s (our part of a follow may ask WeChat for a unionid).
      const early = deps.forwarder && alwaysForwarded.has(opened.message.kind) ? deps.forwarder.forward(opened.xml, opened.message.openid) : undefined;
      const outcome = await deps.events.handleWechatEvent(opened.message);
      if (outcome.reply !== undefined) {
        // Our reply stands; the business hears of the push without holding WeChat's 5 s (a follow through a login code).
        if (outcome.forward && deps.forwarder && !early) void deps.forwarder.forward(opened.xml, opened.message.openid);
        return buildTextReply(opened.message, outcome.reply);
      }
      const business = early ?? (outcome.forward && deps.forwarder ? deps.forwarder.forward(opened.xml, opened.message.openid) : undefined);
      return (await business) ?? emptyReply;
    });
    return deps.codec.seal(reply, opened);
  }

  return { verifyUrl, answerPush };
}

export type CallbackPushes = ReturnType<typeof createCallbackPushes>;
