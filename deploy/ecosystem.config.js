// PM2: `npm ci && npm run build`, then `pm2 start deploy/ecosystem.config.js --env production`.
//
// Cluster mode runs several processes, each with its own memory: it NEEDS
// REDIS_URL. Without Redis, a scan handled by one process does not wake a poll
// held by another (it is then only noticed at the poll's next check), and the
// callback de-duplication and rate limits are per process. Without REDIS_URL,
// run one instance (instances: 1).
module.exports = {
  apps: [
    {
      name: 'wechat-login',
      script: 'dist/main.js',
      cwd: __dirname + '/..',
      exec_mode: 'cluster',
      instances: 2,
      // SIGTERM lets held polls answer and in-flight callbacks finish (the server exits within 10 s).
      kill_timeout: 15000,
      // JSON lines already carry their own time.
      time: false,
      env_production: {
        NODE_ENV: 'production',
        PORT: 3000,
        HOST: '127.0.0.1',
        // One proxy (nginx) in front.
        TRUST_PROXY: '1',
        // Required in cluster mode (see above). Set the rest (DATABASE_URL,
        // SESSION_KEYS, WECHAT_*, PUBLIC_URL, METRICS_TOKEN) here or in .env.
        REDIS_URL: 'redis://127.0.0.1:6379',
      },
    },
  ],
};
