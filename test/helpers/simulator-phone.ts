import { BrowserClient, csrfOf } from './browser-client.js';
import type { TestServer } from './server.js';

/** The simulator's phone page, driven like a person would. */
export async function openSimulator(server: Pick<TestServer, 'url'>) {
  const phone = new BrowserClient(server.url);
  const csrf = csrfOf(await (await phone.get('/simulator')).text());
  const pageOf = async (openid: string) => (await phone.get(`/simulator?as=${encodeURIComponent(openid)}`)).text();
  return {
    phone,
    csrf,
    pageOf,
    async createPersona(nickname: string): Promise<string> {
      const created = await phone.postForm('/simulator/personas', { nickname, _csrf: csrf });
      return decodeURIComponent(created.headers.get('location')!.split('as=')[1]);
    },
    /** Presses a code generator button and returns the newest code of that kind. */
    async generateCode(openid: string, kind: 'js' | 'phone'): Promise<string> {
      await phone.postForm('/simulator/codes', { openid, kind, _csrf: csrf });
      const match = (await pageOf(openid)).match(new RegExp(`data-kind="${kind}">([0-9a-f]+)<`));
      if (!match) throw new Error('no generated code on the page');
      return match[1];
    },
    post: (path: string, fields: Record<string, string>) => phone.postForm(path, { ...fields, _csrf: csrf }),
    /** Presses "scan" on the waiting code of `scene`, as `openid`; throws when the code is not waiting. */
    async scan(openid: string, scene: string) {
      const item = (await pageOf(openid)).match(new RegExp(`data-scene="${scene}"[\\s\\S]*?name="ticket" value="([^"]+)"`));
      if (!item) throw new Error('the scene is not waiting in the simulator');
      return phone.postForm('/simulator/scan', { openid, ticket: unescapeHtml(item[1]), _csrf: csrf });
    },
  };
}

/** Undoes the template's escaping of an attribute value (tickets are base64: + and / are escaped). */
function unescapeHtml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, decimal: string) => String.fromCharCode(Number(decimal)))
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}
