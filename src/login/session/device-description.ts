import IP2Region from 'ip2region';
import { describeUserAgent } from '../../http/user-agent.js';

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
 * person checks at a glance. The user agent is parsed by bowser (http/user-agent.ts); the region
 * comes from ip2region's offline database, which ships inside the npm package
 * (no network lookup, nothing leaves the server).
 */
export function describeDevice(userAgent: string, ip: string): DeviceDescription {
  const { browser, os } = describeUserAgent(userAgent);
  // Never the raw user agent: it is the asker's own text, and the scanner must not read it as ours.
  return { browser: browser ?? '', os: os ?? '', ip, region: regionOf(ip) };
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
