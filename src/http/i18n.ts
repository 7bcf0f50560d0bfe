/**
 * The pages' words: Simplified Chinese first (the people who scan are WeChat
 * users), English with `?lang=en` or an English Accept-Language.
 */
export type Lang = 'zh' | 'en';

const zh = {
  siteName: '微信扫码登录',
  simulatorBanner: '模拟器模式：未连接真实的微信公众号，扫码请打开',
  loginTitle: '微信扫码登录',
  loginHint: '请使用微信扫描二维码，关注公众号后即可登录',
  expiresIn: '二维码有效期剩余',
  seconds: '秒',
  checkStatus: '我已扫码，检查登录状态',
  refreshQr: '刷新二维码',
  qrExpired: '二维码已过期，请刷新',
  waiting: '等待扫码…',
  scanned: '扫码成功，正在登录…',
  openInWechat: '您正在微信中浏览，可直接登录：',
  oauthLogin: '微信一键登录',
  bindTitle: '绑定手机号',
  bindHint: '首次登录需要绑定手机号，验证后即可完成登录。',
  phone: '手机号',
  phonePlaceholder: '11 位手机号',
  code: '验证码',
  codePlaceholder: '6 位数字',
  sendCode: '获取验证码',
  codeSent: '验证码已发送，5 分钟内有效。',
  bindSubmit: '绑定并登录',
  profileTitle: '个人资料',
  nickname: '昵称',
  openid: 'OpenID',
  unionid: 'UnionID',
  lastLogin: '上次登录',
  recentLogins: '最近登录记录',
  time: '时间',
  ip: 'IP 地址',
  device: '设备',
  method: '方式',
  logout: '退出登录',
  none: '无',
  method_qrcode: '扫码',
  method_oauth: '微信内授权',
  method_miniprogram: '小程序',
  errorTitle: '出错了',
  backHome: '返回首页',
  retry: '重试',
  language: 'English',
  // Error messages, keyed by AppError code.
  invalid_phone: '请输入正确的中国大陆手机号。',
  invalid_code: '验证码错误，请重新输入。',
  code_expired: '验证码已失效，请重新获取。',
  code_attempts_exceeded: '验证码错误次数过多，请重新获取验证码。',
  phone_taken: '该手机号已绑定其他微信账号。',
  sms_too_soon: '发送太频繁，请 60 秒后再试。',
  too_many_requests: '操作太频繁，请稍后再试。',
  csrf: '页面已过期，请刷新后重试。',
  wechat_unavailable: '微信服务暂时不可用，请稍后重试',
  qr_rate_limited: '您所在的网络获取登录二维码过于频繁，请等待一分钟后再刷新本页。',
  qr_quota_exhausted: '今天的登录二维码已达到微信的每日上限，请明天再试，或在微信内打开本页登录。',
  service_unavailable: '服务暂时不可用，请稍后重试',
  not_found: '页面不存在。',
  bad_request: '请求无效。',
  bind_expired: '绑定已失效，请重新扫码登录。',
  internal: '服务器内部错误，请稍后重试。',
  oauth_state: '登录请求已过期或无效，请重新发起登录。',
  oauth_code: '微信授权已失效，请重试。',
  invalid_json: '请求体不是有效的 JSON。',
};

const en: typeof zh = {
  siteName: 'WeChat Login',
  simulatorBanner: 'Simulator mode: no real Official Account is connected. To scan, open',
  loginTitle: 'Log in with WeChat',
  loginHint: 'Scan the QR code with WeChat and follow the account to log in',
  expiresIn: 'Code expires in',
  seconds: 's',
  checkStatus: 'I have scanned it: check my login',
  refreshQr: 'New code',
  qrExpired: 'This code has expired. Get a new one.',
  waiting: 'Waiting for a scan…',
  scanned: 'Scanned. Logging you in…',
  openInWechat: 'You are inside WeChat, so you can log in directly:',
  oauthLogin: 'Log in with WeChat',
  bindTitle: 'Bind your phone',
  bindHint: 'The first login needs a phone number. Verify it to finish logging in.',
  phone: 'Phone number',
  phonePlaceholder: '11-digit mobile number',
  code: 'Code',
  codePlaceholder: '6 digits',
  sendCode: 'Send code',
  codeSent: 'Code sent. It is valid for 5 minutes.',
  bindSubmit: 'Bind and log in',
  profileTitle: 'Profile',
  nickname: 'Nickname',
  openid: 'OpenID',
  unionid: 'UnionID',
  lastLogin: 'Last login',
  recentLogins: 'Recent logins',
  time: 'Time',
  ip: 'IP address',
  device: 'Device',
  method: 'Method',
  logout: 'Log out',
  none: 'none',
  method_qrcode: 'QR code',
  method_oauth: 'In WeChat',
  method_miniprogram: 'Mini program',
  errorTitle: 'Something went wrong',
  backHome: 'Home',
  retry: 'Try again',
  language: '中文',
  invalid_phone: 'Enter a valid mainland China mobile number.',
  invalid_code: 'That code is wrong. Try again.',
  code_expired: 'That code has expired. Request a new one.',
  code_attempts_exceeded: 'Too many wrong codes. Request a new one.',
  phone_taken: 'This phone number is already bound to another WeChat account.',
  sms_too_soon: 'Please wait 60 seconds before requesting another code.',
  too_many_requests: 'Too many attempts. Try again later.',
  csrf: 'This page has expired. Reload it and try again.',
  wechat_unavailable: 'WeChat is temporarily unavailable. Please try again shortly.',
  qr_rate_limited: 'Too many login codes were requested from your network. Wait a minute, then reload this page.',
  qr_quota_exhausted: "Too many login codes today: WeChat's daily limit is reached. Try again tomorrow, or open this page inside WeChat to log in there.",
  service_unavailable: 'The service is temporarily unavailable. Please try again shortly.',
  not_found: 'Page not found.',
  bad_request: 'Invalid request.',
  bind_expired: 'The binding has expired. Scan the code again.',
  internal: 'Internal server error. Please try again later.',
  oauth_state: 'This login request has expired or is invalid. Please start again.',
  oauth_code: 'The WeChat authorization has expired. Please try again.',
  invalid_json: 'The request body is not valid JSON.',
};

export type MessageKey = keyof typeof zh;
const catalogs: Record<Lang, typeof zh> = { zh, en };

/** A translator for `lang`; unknown keys fall back to `fallback` (or the key). */
export function translator(lang: Lang) {
  const catalog = catalogs[lang];
  return (key: string, fallback?: string): string => (catalog as Record<string, string>)[key] ?? fallback ?? key;
}

/** `?lang=` wins, then the remembered choice, then Accept-Language; Chinese by default. */
export function pickLang(queryLang: unknown, rememberedLang: unknown, acceptLanguage: string | undefined): Lang {
  for (const candidate of [queryLang, rememberedLang]) {
    if (candidate === 'en' || candidate === 'zh') return candidate;
  }
  const first = (acceptLanguage ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'zh';
}
