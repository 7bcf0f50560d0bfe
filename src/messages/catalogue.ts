import { en } from './en.js';
import { zh } from './zh.js';

export type Lang = 'zh' | 'en';
/** Every message and error code: a code without a message does not compile. */
export type MessageKey = keyof typeof zh;
export type Catalogue = Record<MessageKey, string>;
/** Values for a message's `{name}` placeholders. */
export type MessageParams = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: MessageParams) => string;

export const catalogues: Record<Lang, Catalogue> = { zh, en };

/** A translator for `lang`; `{name}` placeholders are filled from `params`. */
export function translator(lang: Lang): Translate {
  const catalogue = catalogues[lang];
  return (key, params) => fillPlaceholders(catalogue[key] ?? key, params);
}

/** The placeholders a message names, e.g. ['seconds'] for "请 {seconds} 秒后再试". */
export function placeholdersOf(message: string): string[] {
  return [...message.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
}

function fillPlaceholders(message: string, params: MessageParams | undefined): string {
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** `?lang=` wins, then the remembered choice, then Accept-Language; Chinese by default. */
export function pickLang(queryLang: unknown, rememberedLang: unknown, acceptLanguage: string | undefined): Lang {
  for (const candidate of [queryLang, rememberedLang]) {
    if (candidate === 'en' || candidate === 'zh') return candidate;
  }
  const first = (acceptLanguage ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'zh';
}
