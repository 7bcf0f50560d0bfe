import Bowser from 'bowser';

export interface DeviceDescription {
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
export function describeUserAgent(userAgent: string): DeviceDescription {
  if (!userAgent) return {};
  const parsed = Bowser.parse(userAgent);
  const browserVersion = parsed.browser.version?.split('.')[0];
  const osVersion = parsed.os.versionName ?? parsed.os.version;
  return {
    browser: parsed.browser.name ? [parsed.browser.name, browserVersion].filter(Boolean).join(' ') : undefined,
    os: parsed.os.name ? [parsed.os.name, osVersion].filter(Boolean).join(' ') : undefined,
  };
}
