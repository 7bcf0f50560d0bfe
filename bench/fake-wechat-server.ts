/**
 * A fake WeChat API on loopback, for running our server as in production
 * (simulator off, no mini-program): the access token, login QR codes,
 * cgi-bin/user/info and user/info/batchget (any openid gets a unionid) and customer-service
 * messages. Plain node:http, so that it costs the machine as little as possible.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

function send(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const unionidOf = (openid: string) => `u${openid.slice(1)}`;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://fake');
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (url.pathname === '/cgi-bin/stable_token' || url.pathname === '/cgi-bin/token') return send(res, { access_token: 'bench-access-token', expires_in: 7200 });
    if (url.pathname === '/cgi-bin/qrcode/create') {
      const ticket = randomBytes(24).toString('base64url');
      return send(res, { ticket, expire_seconds: 3600, url: `http://weixin.qq.com/q/${ticket}` });
    }
    if (url.pathname === '/cgi-bin/user/info') {
      const openid = url.searchParams.get('openid') ?? '';
      return send(res, { subscribe: 1, openid, unionid: unionidOf(openid), language: 'zh_CN' });
    }
    if (url.pathname === '/cgi-bin/user/info/batchget') {
      const { user_list: list } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { user_list: { openid: string }[] };
      return send(res, { user_info_list: list.map(({ openid }) => ({ subscribe: 1, openid, unionid: unionidOf(openid), language: 'zh_CN' })) });
    }
    if (url.pathname === '/cgi-bin/message/custom/send') return send(res, { errcode: 0, errmsg: 'ok' });
    send(res, { errcode: 40_001, errmsg: 'unknown path' });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('"listening"\n'));
