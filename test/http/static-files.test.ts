import test from 'ava';
import { startServer } from '../helpers/server.js';

test('the favicon: an SVG linked from every page, and /favicon.ico answered with a real icon', async (t) => {
  const server = await startServer(t);

  const page = await (await fetch(`${server.url}/login`)).text();
  t.regex(page, /<link rel="icon" href="\/static\/favicon.svg" type="image\/svg\+xml">/);
  const svg = await fetch(`${server.url}/static/favicon.svg`);
  t.is(svg.status, 200);
  t.is(svg.headers.get('content-type'), 'image/svg+xml');
  t.regex(await svg.text(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);

  const ico = await fetch(`${server.url}/favicon.ico`);
  t.is(ico.status, 200);
  t.is(ico.headers.get('content-type'), 'image/vnd.microsoft.icon');
  const bytes = Buffer.from(await ico.arrayBuffer());
  // ICONDIR: reserved 0, type 1 (icon), then at least one image.
  t.is(bytes.readUInt16LE(0), 0);
  t.is(bytes.readUInt16LE(2), 1);
  t.true(bytes.readUInt16LE(4) >= 1);

  // Only the named files are served at the root: nothing else under static/ leaks there.
  t.is((await fetch(`${server.url}/favicon.svg`)).status, 404);
  t.is((await fetch(`${server.url}/css/app.css`)).status, 404);
});
