import Bowser from 'bowser';

export interface BrowserAndOs {
  /** "Chrome 120", "WeChat 8.0", or undefined when the user agent does not say. */
  browser?: string;
  /** "Windows 10", "iOS 17.1", or undefined. */
  os?: string;
}

/**
 * What a person recognises of a user agent: the browser and the operating
 * system, by bowser (a maintained parser, MIT), never by regexes of our own.
 * Only the major version of a browser is kept: "Chrome 120", not "120.0.6099.71".
 */
export function describeUserAgent(userAgent: string): BrowserAndOs {
  if (!userAgent) return {};
  const parsed = Bowser.parse(userAgent);
  const browserVersion = parsed.browser.version?.split('.')[0];
  const osVersion = parsed.os.versionName ?? parsed.os.version;
  return {
    browser: plainName([parsed.browser.name, browserVersion].filter(Boolean).join(' ')),
    os: plainName([parsed.os.name, osVersion].filter(Boolean).join(' ')),
  };
}

/**
 * The user agent is the waiting browser's word, and these names go into
 * WeChat messages that render links: bowser's generic parser passes any
 * "Name/1" through, so only short, plain names are kept (letters, digits,
 * space and . _ ( ) -); anything else is "unknown".
 */
function plainName(name: string): string | undefined {
  return /^[A-Za-z0-9 ._()-]{1,32}$/.test(name) ? name : undefined;
}
