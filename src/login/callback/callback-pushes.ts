import type { CallbackCodec, CallbackQuery } from '../../wechat/callback-codec.js';
import { buildTextReply, deliveryKey } from '../../wechat/messages.js';
import type { DeliveryDeduper } from './delivery-dedupe.js';
import { emptyReply, type WechatEvents } from './wechat-events.js';

export interface CallbackPushesDeps {
  codec: CallbackCodec;
  events: WechatEvents;
  deduper: DeliveryDeduper;
}

/**
 * What WeChat's calls to our callback do: the URL check, and each event push
 * checked and opened by the codec (which refuses with a CallbackRejectedError),
 * acted on once per delivery, and answered with the reply sealed as it came.
 */
export function createCallbackPushes(deps: CallbackPushesDeps) {
  /** GET: the URL check WeChat does when the callback is configured. Returns echostr. */
  function verifyUrl(query: CallbackQuery): string {
    return deps.codec.verifyUrl(query);
  }

  /** POST: one push; returns the reply to send (`success`, or XML sealed like the push). */
  async function answerPush(query: CallbackQuery, readBody: () => Promise<string>): Promise<string> {
    const opened = await deps.codec.open(query, readBody);
    // A retry of a delivery already handled gets the same reply and has no second effect.
    const reply = await deps.deduper.once(deliveryKey(opened.fields), async () => {
      const text = await deps.events.handleWechatEvent(opened.message);
      return text === emptyReply ? emptyReply : buildTextReply(opened.message, text);
    });
    return deps.codec.seal(reply, opened);
  }

  return { verifyUrl, answerPush };
}

export type CallbackPushes = ReturnType<typeof createCallbackPushes>;
