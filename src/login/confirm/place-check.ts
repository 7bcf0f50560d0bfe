/**
 * Whether the waiting browser and the phone that confirms are in different
 * places, by their IP regions ("中国 广东省 深圳市"). The phishing relay of the
 * number puts them apart: the victim's phone where the victim is, the
 * attacker's browser elsewhere. Compared as far as both regions go (a mobile
 * network is often placed only to its province); an unknown region (private,
 * loopback, foreign without detail) says nothing.
 */
export function placesDiffer(browserRegion: string, phoneRegion: string): boolean {
  if (!browserRegion || !phoneRegion) return false;
  const browser = browserRegion.split(' ');
  const phone = phoneRegion.split(' ');
  const depth = Math.min(browser.length, phone.length);
  return browser.slice(0, depth).some((part, index) => part !== phone[index]);
}
