// PM2: `npm ci && npm run build`, then `pm2 start deploy/ecosystem.config.js --env production`.
//
// Two processes, one per port of deploy/nginx.conf's upstream (127.0.0.1:3000
// and 127.0.0.1:3001), each listening on its own port: PM2's fork mode, as
// systemd's wechat-login@3000 and @3001 do. (PM2's cluster mode would put both
// behind ONE port, and nginx would find nothing on the other.)
// test/deploy/pm2.test.ts checks that these ports are the upstream's.
//
// Two processes share no memory: they NEED REDIS_URL. Without Redis, a scan
// handled by one does not wake a poll held by the other (it is then only
// noticed at the poll's next check), and the callback de-duplication and rate
// limits are per process. Without REDIS_URL, keep only the first app (and the
// first upstream line).
//
// Upgrade one process at a time, so nginx always has one to send requests to:
//   npm run migrate:built
//   pm2 reload wechat-login-3000 && curl -fsS --retry 10 --retry-connrefused http://127.0.0.1:3000/readyz
//   pm2 reload wechat-login-3001
const path = require('node:path');

const ports = [3000, 3001];

module.exports = {
  apps: ports.map((port) => ({
    name: `wechat-login-${port}`,
    script: 'dist/main.js',
    cwd: path.join(__dirname, '..'),
    exec_mode: 'fork',
    instances: 1,
    // PM2 stops a process with SIGINT, then SIGKILL after kill_timeout. The server
    // treats SIGINT as SIGTERM: held polls answer at once, in-flight callbacks
    // finish, and it exits within 10 s.
    kill_timeout: 15000,
    // JSON lines already carry their own time.
    time: false,
    // In every environment, so that a start without `--env production` still
    // puts the two processes on two ports instead of both on 3000.
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    env_production: {
      NODE_ENV: 'production',
      // One proxy (nginx) in front.
      TRUST_PROXY: '1',
      // Required with two processes (see above). Set the rest (DATABASE_URL,
      // SESSION_KEYS, WECHAT_*, PUBLIC_URL, SMS_*, METRICS_TOKEN) here or in
      // the root's .env, which the server reads itself.
      REDIS_URL: 'redis://127.0.0.1:6379',
    },
  })),
};
