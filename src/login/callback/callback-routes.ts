import { AppError } from '../../errors.js';
import type { AppContext, AppRouter } from '../../http/context.js';
import { readTextBody } from '../../http/read-body.js';
import { maxCallbackBodyBytes } from '../../wechat/constants.js';
import type { CallbackPushes } from './callback-pushes.js';
import { emptyReply } from './wechat-events.js';

export interface CallbackRouteDeps {
  pushes: CallbackPushes;
}

/** Where WeChat's servers call us (configured in the Official Account's admin console). */
export const callbackPath = '/wechat/callback';

/**
 * The endpoint WeChat's servers call: GET to check the URL, POST for event
 * pushes. Every request's signature is checked before anything else.
 */
export function callbackRoutes(router: AppRouter, deps: CallbackRouteDeps): void {
  router.get(callbackPath, (ctx) => {
    const echostr = deps.pushes.verifyUrl(ctx.query);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = echostr;
  });

  router.post(callbackPath, async (ctx) => {
    // WeChat sends text/xml; a form, JSON or upload is someone else.
    const type = ctx.get('content-type');
    if (type && !/xml|text\/plain/i.test(type)) throw new AppError(415, 'unsupported_media_type', 'callbacks are XML');
    sendReply(ctx, await deps.pushes.answerPush(ctx.query, () => readTextBody(ctx.req, maxCallbackBodyBytes)));
  });
}

function sendReply(ctx: AppContext, reply: string): void {
  ctx.type = reply === emptyReply ? 'text/plain; charset=utf-8' : 'application/xml; charset=utf-8';
  ctx.body = reply;
}
