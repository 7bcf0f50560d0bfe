import type { Lang } from './catalogue.js';

/** The words for the browser that asked to log in (login/session/device-description.ts makes them). */
export interface DeviceInWords {
  browser: string;
  os: string;
  ip: string;
  region: string;
}

/**
 * What the scanner reads in WeChat (passive replies and the login notice), in
 * the language of the browser that asked to log in: the page's language rides
 * in the scene (scenes.ts), and the notice is sent from the browser's request.
 * WeChat messages are plain text with `<a>` links only.
 */
export interface WechatTexts {
  loggedIn: string;
  bindPhone: string;
  sceneInvalid: string;
  /** The reply to a scan that waits for confirmation: who is asking, and the link to answer. */
  confirm(device: DeviceInWords, link: string): string;
  /** The notice after a QR login; `endLink` ends that very session. */
  notice(device: DeviceInWords, at: Date, endLink: string): string;
  /** The reply to a login code sent to the account (oa-code): which site and browser it logged in, and what is left to do. */
  codeLogin(site: string, device: DeviceInWords, hasPhone: boolean): string;
  /** A live code that another WeChat user sent first. */
  codeTaken: string;
  /** A message shaped like a login code that names no live login. */
  codeUnknown: string;
  /** Too many codes from this WeChat user this hour. */
  codeTooMany: string;
}

/** Built once: toLocaleString with options builds a new Intl formatter on every call (about 0.4 ms per login in the bench's profile). */
const shanghaiTime = {
  zh: new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }),
};

const who = (device: DeviceInWords, unknown: string) => [device.browser, device.os].filter(Boolean).join(' · ') || unknown;
const where = (device: DeviceInWords, separator: string) => [device.ip && `IP ${device.ip}`, device.region].filter(Boolean).join(separator);

const zh: WechatTexts = {
  loggedIn: '登录成功',
  bindPhone: '扫码成功！请回到网页上绑定手机号，完成登录。',
  sceneInvalid: '二维码已失效，请刷新网页后重新扫码。',
  confirm: (device, link) =>
    `有浏览器正在请求登录你的账号：\n${who(device, '未知浏览器')}\n${where(device, '，')}\n\n` +
    `如果是你本人在电脑上操作，请<a href="${link}">点此确认登录</a>，并选择网页上显示的数字。` +
    `\n如果不是你，请不要点击，也不要把网页上的数字告诉任何人。链接 3 分钟内有效。`,
  notice: (device, at, endLink) =>
    `你的账号于 ${shanghaiTime.zh.format(at)} 通过扫码在这个浏览器上登录了：\n${who(device, '未知浏览器')}\n${where(device, '，')}\n\n` +
    `如果不是你本人操作，请<a href="${endLink}">结束这次登录</a>。`,
  codeLogin: (site, device, hasPhone) =>
    `你的微信账号正在登录 ${site}：\n${who(device, '未知浏览器')}\n${where(device, '，')}\n\n` +
    `${hasPhone ? '登录成功。' : '请回到网页上绑定手机号，完成登录。'}` +
    '如果这不是你本人面前的浏览器（比如有人让你发送这个码“领奖”），请立即在该网站的个人资料页退出它。',
  codeTaken: '这个登录码已被另一个微信账号使用。如果网页已经登录，那不是你的账号：请退出，然后刷新网页获取新的登录码。',
  codeUnknown: '这个登录码无效或已过期，请刷新网页，发送新的登录码。',
  codeTooMany: '登录码错误次数过多，请一小时后再试。',
};

const en: WechatTexts = {
  loggedIn: 'You are logged in.',
  bindPhone: 'Scanned! Go back to the web page and bind your phone number to finish logging in.',
  sceneInvalid: 'This QR code has expired. Refresh the web page and scan again.',
  confirm: (device, link) =>
    `A browser is asking to log in to your account:\n${who(device, 'Unknown browser')}\n${where(device, ', ')}\n\n` +
    `If this is you at your computer, <a href="${link}">tap here to confirm</a> and pick the number shown on the web page.` +
    `\nIf it is not you, do not tap, and tell nobody the number on the page. The link works for 3 minutes.`,
  notice: (device, at, endLink) =>
    `Your account logged in by QR code on ${shanghaiTime.en.format(at)} in this browser:\n${who(device, 'Unknown browser')}\n${where(device, ', ')}\n\n` +
    `If this was not you, <a href="${endLink}">end this login</a>.`,
  codeLogin: (site, device, hasPhone) =>
    `Your WeChat account is logging in to ${site}:\n${who(device, 'Unknown browser')}\n${where(device, ', ')}\n\n` +
    `${hasPhone ? 'You are logged in. ' : 'Go back to the web page and bind your phone number to finish logging in. '}` +
    'If this is not a browser in front of you (someone asked you to send this code "for a prize", say), log it out on that site\'s profile page now.',
  codeTaken: 'Another WeChat account used this login code first. If the web page is logged in, it is not your account: log out, then refresh the page for a new code.',
  codeUnknown: 'This login code is not valid or has expired. Refresh the web page and send the new code.',
  codeTooMany: 'Too many wrong login codes. Try again in an hour.',
};

export const wechatTexts: Record<Lang, WechatTexts> = { zh, en };
