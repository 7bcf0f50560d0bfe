import Bowser from 'bowser';
import IP2Region from 'ip2region';

export interface DeviceDescription {
  /** "Chrome 120", or the raw start of the user agent when it cannot be parsed. */
  browser: string;
  /** "Windows 10", "macOS", "Android 14"… or an empty string. */
  os: string;
  ip: string;
  /** "中国 广东省 深圳市", or an empty string when the address has no region (private, loopback, unknown). */
  region: string;
}

let regions: IP2Region | undefined;

/**
 * Says which browser, OS, address and region asked to log in, in words a
 * person checks at a glance. The user agent is parsed by bowser; the region
 * comes from ip2region's offline database, which ships inside the npm package
 * (no network lookup, nothing leaves the server).
 */
export function describeDevice(userAgent: string, ip: string): DeviceDescription {
  return { ...describeUserAgent(userAgent), ip, region: regionOf(ip) };
}

export function describeUserAgent(userAgent: string): { browser: string; os: string } {
  if (!userAgent) return { browser: '', os: '' };
  const parsed = Bowser.parse(userAgent);
  const browserName = parsed.browser.name ?? '';
  const majorVersion = parsed.browser.version?.split('.')[0] ?? '';
  const osName = parsed.os.name ?? '';
  const osVersion = parsed.os.versionName ?? parsed.os.version ?? '';
  return {
    browser: browserName ? `${browserName}${majorVersion ? ` ${majorVersion}` : ''}` : userAgent.slice(0, 40),
    os: osName ? `${osName}${osVersion ? ` ${osVersion}` : ''}` : '',
  };
}

function regionOf(ip: string): string {
  try {
    // Loaded on first use: the database is a few megabytes.
    regions ??= new IP2Region();
    const found = regions.search(ip);
    if (!found || !found.country) return '';
    return [found.country, found.province, found.city].filter(Boolean).join(' ');
  } catch {
    return '';
  }
}
