/**
 * A minimal co-wechat endpoint: signature check, XML parsing and a text reply,
 * no database. The callback throughput of our server is put beside it.
 */
import Koa from 'koa';
// co-wechat ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wechat = require('co-wechat');

const app = new Koa();
app.use(wechat({ token: process.env.WECHAT_TOKEN, appid: 'wxbench' }).middleware(async () => '登录成功'));
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('"listening"\n'));
