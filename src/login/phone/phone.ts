/**
 * A mainland China mobile number in its 11-digit form, or undefined.
 * Spaces and dashes are ignored; +86, 86 and 0086 prefixes are accepted.
 */
export function normalizeMainlandPhone(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 32) return undefined;
  const compact = input.replace(/[\s-]/g, '').replace(/^(\+86|0086|86)(?=1\d{10}$)/, '');
  return /^1[3-9]\d{9}$/.test(compact) ? compact : undefined;
}

/** 13812348000 → 138****8000, for pages and logs. */
export function maskPhone(phone: string): string {
  return phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : '****';
}

/** Shows the first and last four characters of an identifier. */
export function maskIdentifier(value: string): string {
  return value.length > 10 ? `${value.slice(0, 4)}…${value.slice(-4)}` : value;
}
