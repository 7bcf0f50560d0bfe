import type nunjucks from 'nunjucks';
import { translator, type Lang } from '../messages/catalogue.js';

/** The words of the OpenID Provider's pages and the demo app; anything else falls back to the site's catalogue. */

/**
 * Renders one of our pages to a string, for the provider's own responses
 * (logout, errors), which are not Koa contexts of our app.
 */
export function renderOidcPage(
  env: nunjucks.Environment,
  page: { lang: Lang; simulator: boolean; url: string },
  template: string,
  data: Record<string, unknown>,
): string {
  const { lang, simulator } = page;
  // The same request in the other language (a path on this site: the URL is the request's own).
  const other = new URL(page.url, 'http://localhost');
  other.searchParams.set('lang', lang === 'en' ? 'zh' : 'en');
  return env.render(template, {
    simulator,
    lang,
    htmlLang: lang === 'en' ? 'en' : 'zh-CN',
    t: translator(lang),
    csrf: '',
    switchLangHref: `/${other.pathname.replace(/^[/\\]+/, '')}${other.search}`,
    ...data,
  });
}
