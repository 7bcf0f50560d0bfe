import { randomInt } from 'node:crypto';
import { hashToken } from '../../security/tokens.js';
import type { LoginWay } from './login-way.js';

/**
 * The code's letters: digits and capitals without the look-alikes (0/O, 1/I/L,
 * U/V), so that a code read off a screen and typed on a phone arrives as shown.
 */
const alphabet = '23456789ABCDEFGHJKMNPQRSTWXYZ';
const codeLength = 8;
const digits = '23456789';
/**
 * Every code has a letter and a digit, so that the words and numbers people
 * send an account ("cheapest", an order number) are no code. That leaves
 * 29^8 − 21^8 − 8^8 ≈ 4.6 · 10^11 codes: with 100,000 live at once, one
 * guess finds one with odds of about 1 in 4.6 million.
 */
export const possibleCodes = alphabet.length ** codeLength - (alphabet.length - digits.length) ** codeLength - digits.length ** codeLength;
const hasLetterAndDigit = (code: string) => /[2-9]/.test(code) && /[A-Z]/.test(code);

export interface OaCodeDeps {
  /** The account's name and its follow QR image, shown with the code. */
  accountName?: string;
  accountQrUrl?: string;
}

/** What the page keeps of a code login: the code itself (it lives only on the page and in this cookie). */
export interface OaCodeShown {
  code: string;
}

/**
 * `oa-code`: the page shows a code, and the person sends it to the Official
 * Account as a text message; that message is their scan of the scene
 * (scan/scan-to-login.ts, `onCode`). The code goes from the page to WeChat,
 * never the other way: a code that WeChat sends and the browser types lets a
 * browser guess its way into someone else's account. Works for every account,
 * verified or not: receiving messages and answering them passively is what
 * every Official Account may do.
 */
export function createOaCodeWay(deps: OaCodeDeps): LoginWay<OaCodeShown> {
  async function present() {
    let code: string;
    do code = Array.from({ length: codeLength }, () => alphabet[randomInt(alphabet.length)]).join('');
    while (!hasLetterAndDigit(code));
    return { shown: { code }, codeHash: hashLoginCode(code) };
  }

  async function view(shown: OaCodeShown) {
    return { loginCode: shown.code, loginCodeShown: `${shown.code.slice(0, 4)} ${shown.code.slice(4)}`, accountName: deps.accountName, accountQrUrl: deps.accountQrUrl };
  }

  return { name: 'oa-code', method: 'code', present, view };
}

/**
 * The code a text message carries, if it is shaped like one: spaces, dashes,
 * dots, invisible characters, full-width forms and letter case do not matter.
 */
export function loginCodeIn(content: string): string | undefined {
  if (content.length > 40) return undefined;
  const code = content.normalize('NFKC').replace(/[\s\p{Pd}\p{Cf}_.·・]/gu, '').toUpperCase();
  return code.length === codeLength && [...code].every((letter) => alphabet.includes(letter)) && hasLetterAndDigit(code) ? code : undefined;
}

/** How a code is stored: never the code itself. */
export function hashLoginCode(code: string): string {
  return hashToken(code, 'login code');
}
