import path from 'node:path';
import nunjucks from 'nunjucks';
import type { AppContext, AppMiddleware } from './context.js';
import { csrfToken } from './csrf.js';
import { pickLang, translator } from '../messages/catalogue.js';
import { sameOriginPath } from './safe-next.js';

export const viewsDirectory = path.resolve(__dirname, '../../views');

export interface RenderGlobals {
  simulator: boolean;
}

/** Nunjucks with autoescaping on: every value from a user or WeChat is escaped unless a template says otherwise. */
export function createViewEnvironment(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDirectory, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  env.addFilter('isoTime', (value: Date | null | undefined) => (value ? value.toISOString() : ''));
  env.addFilter('localTime', (value: Date | null | undefined) =>
    value ? value.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '',
  );
  return env;
}

/** Picks the page language for the request and puts a translator in ctx.state. */
export const languageMiddleware: AppMiddleware = async (ctx, next) => {
  const queryLang = ctx.query.lang;
  const lang = pickLang(queryLang, ctx.session?.lang, ctx.get('accept-language') || undefined);
  if ((queryLang === 'en' || queryLang === 'zh') && ctx.session) ctx.session.lang = queryLang;
  ctx.state.lang = lang;
  ctx.state.t = translator(lang);
  return next();
};

export type Render = (ctx: AppContext, template: string, data?: Record<string, unknown>, status?: number) => void;

/** Renders `template` as the response, with the globals every page needs. */
export function createRenderer(env: nunjucks.Environment, globals: RenderGlobals): Render {
  return (ctx, template, data = {}, status = 200) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    // The error handler may render before the language middleware has run.
    const lang = ctx.state.lang ?? 'zh';
    const otherLang = lang === 'en' ? 'zh' : 'en';
    ctx.body = env.render(template, {
      ...globals,
      lang,
      htmlLang: lang === 'en' ? 'en' : 'zh-CN',
      t: ctx.state.t ?? translator(lang),
      csrf: ctx.session ? csrfToken(ctx) : '',
      // Never `//host/...`: that link would leave the site.
      switchLangHref: `${sameOriginPath(ctx.path)}?lang=${otherLang}`,
      ...data,
    });
  };
}
