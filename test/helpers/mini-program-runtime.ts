import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { TestServer } from './server.js';
import { openSimulator } from './simulator-phone.js';

/** WeChat's scene value for a mini-program opened by scanning its code. */
export const scannedCodeScene = 1047;

const loginPageScript = path.resolve(__dirname, '../../examples/miniprogram/pages/login/index.js');

/** What a test holds of a mini-program page: its data, and its methods to call as taps would. */
export interface MiniProgramPage {
  data: Record<string, unknown>;
  onLoad(options: Record<string, string>): Promise<void>;
  onApprove(): Promise<void>;
  onPickNumber(event: { currentTarget: { dataset: { number: string } } }): Promise<void>;
  onDeny(): Promise<void>;
  ticket?: string;
}

/**
 * The example mini-program's login page (examples/miniprogram/), its own
 * script unchanged, run in a fresh context with the mini-program runtime's
 * globals: `Page` and `getApp` as the runtime gives them, and a `wx` whose
 * `login` is the simulator's code generator for `openid` and whose `request`
 * is real HTTP to the server. Nothing of the server is mocked.
 */
export async function openMiniProgramLoginPage(server: TestServer, openid: string, enterScene = scannedCodeScene): Promise<MiniProgramPage> {
  const simulator = await openSimulator(server);
  let definition: Record<string, unknown> | undefined;
  const wx = {
    // How the mini-program was opened: 1047 is a scanned mini-program code.
    getEnterOptionsSync: () => ({ scene: enterScene, path: 'pages/login/index', query: {} }),
    login(options: { success(result: { code: string }): void; fail(error: unknown): void }) {
      simulator.generateCode(openid, 'js').then((code) => options.success({ code }), options.fail);
    },
    request(options: { url: string; method: string; data: unknown; header: Record<string, string>; success(result: unknown): void; fail(error: unknown): void }) {
      fetch(options.url, { method: options.method, headers: options.header, body: JSON.stringify(options.data) })
        .then(async (response) => {
          const text = await response.text();
          options.success({ statusCode: response.status, data: text ? JSON.parse(text) : '', header: Object.fromEntries(response.headers) });
        })
        .catch(options.fail);
    },
  };
  vm.runInNewContext(readFileSync(loginPageScript, 'utf8'), {
    Page: (page: Record<string, unknown>) => (definition = page),
    getApp: () => ({ globalData: { apiBase: server.url } }),
    wx,
  });
  if (!definition) throw new Error('the example page did not call Page()');
  // As the runtime makes a page instance: the definition's methods, its own copy of data, and setData.
  const page = Object.create(definition) as MiniProgramPage & { setData(changes: Record<string, unknown>): void };
  page.data = { ...(definition.data as Record<string, unknown>) };
  page.setData = (changes) => Object.assign(page.data, changes);
  return page;
}
