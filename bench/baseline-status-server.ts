/**
 * The usual tutorial design, as a baseline: the browser asks a plain status
 * endpoint every second, and every ask is a database query.
 */
import http from 'node:http';
import knexFactory from 'knex';
import { knexConfigFromUrl } from '../src/db/knex.js';

const knex = knexFactory(knexConfigFromUrl(process.env.DATABASE_URL!));
const server = http.createServer(async (req, res) => {
  const scene = new URL(req.url ?? '/', 'http://x').searchParams.get('scene') ?? '';
  const user = await knex('users').where({ tmp_scene_str: scene }).first('id', 'phone');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: user ? (user.phone ? 'success' : 'bind') : 'pending' }));
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('"listening"\n'));
process.once('SIGTERM', () => server.close(() => void knex.destroy().then(() => process.exit(0))));
