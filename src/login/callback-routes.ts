import { AppError, BadRequestError } from '../errors.js';
import type { AppContext, AppRouter } from '../http/context.js';
import { readTextBody } from '../http/read-body.js';
import type { CallbackCodec } from '../wechat/callback-codec.js';
import { maxCallbackBodyBytes } from '../wechat/constants.js';
import { buildTextReply, deliveryKey, MalformedMessageError, toWechatMessage } from '../wechat/messages.js';
import type { DeliveryDeduper } from './delivery-dedupe.js';
import { emptyReply, type LoginService } from './login-service.js';

export interface CallbackRouteDeps {
  codec: CallbackCodec;
  /** The account's original ID, when configured: a push for another account is refused. */
  originalId?: string;
  loginService: LoginService;
  deduper: DeliveryDeduper;
}

/** Where WeChat's servers call us (configured in the Official Account's admin console). */
export const callbackPath = '/wechat/callback';

/**
 * The endpoint WeChat's servers call: GET to check the URL, POST for event
 * pushes. Every request's signature is checked before anything else.
 */
export function callbackRoutes(router: AppRouter, deps: CallbackRouteDeps): void {
  router.get(callbackPath, (ctx) => {
    const echostr = deps.codec.verifyUrl(ctx.query);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = echostr;
  });

  router.post(callbackPath, async (ctx) => {
    // WeChat sends text/xml; a form, JSON or upload is someone else.
    const type = ctx.get('content-type');
    if (type && !/xml|text\/plain/i.test(type)) throw new AppError(415, 'unsupported_media_type', 'callbacks are XML');
    const opened = await deps.codec.open(ctx.query, () => readTextBody(ctx.req, maxCallbackBodyBytes));
    let message;
    try {
      message = toWechatMessage(opened.fields);
    } catch (error) {
      if (error instanceof MalformedMessageError) throw new BadRequestError(error.message, 'malformed_xml');
      throw error;
    }
    if (deps.originalId && message.toUser !== deps.originalId) {
      throw new BadRequestError('the push is addressed to another account', 'wrong_account');
    }
    const reply = await deps.deduper.once(deliveryKey(opened.fields), async () => {
      const text = await deps.loginService.handleWechatEvent(message);
      return text === emptyReply ? emptyReply : buildTextReply(message, text);
    });
    sendReply(ctx, deps.codec.seal(reply, opened));
  });
}

function sendReply(ctx: AppContext, reply: string): void {
  ctx.type = reply === emptyReply ? 'text/plain; charset=utf-8' : 'application/xml; charset=utf-8';
  ctx.body = reply;
}
