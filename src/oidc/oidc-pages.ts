import type nunjucks from 'nunjucks';
import { translator, type Lang } from '../http/i18n.js';

/** The words of the OpenID Provider's pages and the demo app; anything else falls back to the site's catalogue. */
const messages: Record<Lang, Record<string, string>> = {
  zh: {
    oidcLogoutTitle: '退出登录',
    oidcLogoutAsk: '“{client}”请求退出登录。是否同时退出本站（{site}）？',
    oidcLogoutYes: '是，退出登录',
    oidcLogoutNo: '否，保持登录',
    oidcLoggedOutTitle: '已退出',
    oidcLoggedOut: '你已退出登录。',
    oidcErrorIntro: '应用的登录请求无法完成。请回到应用重新登录。',
    oidcInteractionGone: '这次登录请求已过期或不属于这个浏览器。请回到应用重新点击登录。',
    demoTitle: '演示应用',
    demoIntro: '这是一个通过 OpenID Connect 接入本站微信登录的示例应用（客户端 {client}）。',
    demoLogin: '使用微信登录',
    demoClaimsTitle: '已登录：ID 令牌中的声明',
    demoClaim: '声明',
    demoValue: '值',
    demoLogout: '退出登录',
    demoLoginFailed: '登录没有完成：{reason}',
    demoTryAgain: '重新登录',
  },
  en: {
    oidcLogoutTitle: 'Log out',
    oidcLogoutAsk: '“{client}” asks to log you out. Log out of this site ({site}) as well?',
    oidcLogoutYes: 'Yes, log me out',
    oidcLogoutNo: 'No, stay logged in',
    oidcLoggedOutTitle: 'Logged out',
    oidcLoggedOut: 'You are logged out.',
    oidcErrorIntro: 'The application’s login request could not be completed. Go back to the application and log in again.',
    oidcInteractionGone: 'This login request has expired or belongs to another browser. Go back to the application and click log in again.',
    demoTitle: 'Demo app',
    demoIntro: 'An example application that logs people in with this site’s WeChat login through OpenID Connect (client {client}).',
    demoLogin: 'Log in with WeChat',
    demoClaimsTitle: 'Logged in: the ID token’s claims',
    demoClaim: 'Claim',
    demoValue: 'Value',
    demoLogout: 'Log out',
    demoLoginFailed: 'The login did not complete: {reason}',
    demoTryAgain: 'Log in again',
  },
};

/** A translator that knows the OIDC pages' words, then the site's. */
export function oidcTranslator(lang: Lang) {
  const base = translator(lang);
  return (key: string, fallback?: string): string => messages[lang][key] ?? base(key, fallback);
}

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
    t: oidcTranslator(lang),
    csrf: '',
    switchLangHref: `/${other.pathname.replace(/^[/\\]+/, '')}${other.search}`,
    ...data,
  });
}
