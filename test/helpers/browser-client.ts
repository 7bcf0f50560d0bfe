/**
 * A tiny cookie-keeping HTTP client: one instance is one browser session.
 * Redirects are not followed, so tests can check each status and Location.
 */
export class BrowserClient {
  private cookies = new Map<string, string>();
  /** Every Set-Cookie line this browser was sent, attributes included, oldest first. */
  readonly setCookieLines: string[] = [];

  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers({ ...this.headers, ...(init.headers as Record<string, string> | undefined) });
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(this.baseUrl + path, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      this.setCookieLines.push(line);
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request(path, { headers });
  }

  /** POSTs an HTML form (urlencoded). */
  postForm(path: string, fields: Record<string, string>) {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  setCookies(cookieHeader: string) {
    this.cookies.clear();
    for (const pair of cookieHeader.split('; ').filter(Boolean)) {
      const index = pair.indexOf('=');
      this.cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
  }
}

/** Pulls the value of `name="..."` from a hidden input, or an attribute, out of HTML. */
export function extractAttribute(html: string, pattern: RegExp): string {
  const match = html.match(pattern);
  if (!match) throw new Error(`pattern ${pattern} not found in page`);
  return match[1].replaceAll('&amp;', '&');
}

export const csrfOf = (html: string) => extractAttribute(html, /name="_csrf" value="([^"]+)"/);
export const sceneOf = (html: string) => extractAttribute(html, /data-scene="([^"]+)"/);
