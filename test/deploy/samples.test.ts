/**
 * The deployment samples agree with one another: every way of running two
 * instances (PM2, systemd, compose) puts them on the ports of deploy/nginx.conf's
 * upstream, compose passes the settings production needs, the systemd units pass
 * `systemd-analyze verify`, and the Dockerfile's COPY sources get through
 * .dockerignore while secrets and local state do not. Docker cannot run here
 * (README), so the Dockerfile is checked as text.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The ports of `upstream wechat_login { server 127.0.0.1:PORT …; }`. */
function upstreamPorts(): number[] {
  const block = /^upstream wechat_login \{([\s\S]*?)^\}/m.exec(read('deploy/nginx.conf'));
  if (!block) throw new Error('deploy/nginx.conf has no upstream wechat_login block');
  return [...block[1].matchAll(/^\s*server 127\.0\.0\.1:(\d+)\b/gm)].map((match) => Number(match[1]));
}

test('nginx\'s upstream has two instances, on 3000 and 3001', (t) => {
  t.deepEqual(upstreamPorts(), [3000, 3001]);
});

interface Pm2App {
  name: string;
  script: string;
  cwd: string;
  exec_mode?: string;
  instances?: number;
  env?: Record<string, string>;
  env_production?: Record<string, string>;
}

test('PM2 runs one process per upstream port, in any environment', (t) => {
  const file = path.join(root, 'deploy/ecosystem.config.js');
  const { apps } = createRequire(__filename)(file) as { apps: Pm2App[] };
  // `pm2 start … --env production` merges env_production over env; without --env, env alone.
  const portsWith = (environment?: 'production') =>
    apps.map((app) => Number({ ...app.env, ...(environment ? app.env_production : {}) }.PORT));
  t.deepEqual(portsWith('production'), upstreamPorts());
  t.deepEqual(portsWith(), upstreamPorts());
  t.is(new Set(apps.map((app) => app.name)).size, apps.length, 'every app has its own name');
  for (const app of apps) {
    // Cluster mode would share one port between the processes.
    t.is(app.exec_mode, 'fork', app.name);
    t.is(app.instances, 1, app.name);
    t.is(path.resolve(app.cwd, app.script), path.join(root, 'dist/main.js'), app.name);
    t.is(app.env_production?.NODE_ENV, 'production', app.name);
    t.truthy(app.env_production?.REDIS_URL, `${app.name}: two processes need Redis`);
  }
});

test('the systemd instances named in the unit are the upstream ports', (t) => {
  const unit = read('deploy/wechat-login.service');
  const enable = /systemctl enable --now (.+)$/m.exec(unit);
  t.truthy(enable);
  const ports = [...enable![1].matchAll(/wechat-login@(\d+)/g)].map((match) => Number(match[1]));
  t.deepEqual(ports, upstreamPorts());
  // A PORT in the EnvironmentFile overrides Environment=, so %i is set on the command line.
  t.regex(unit, /^ExecStart=\/usr\/bin\/env PORT=%i /m);
  // The data folder cannot be missing: systemd creates its StateDirectory before each start.
  t.regex(unit, /^StateDirectory=wechat-login$/m);
  t.notRegex(unit, /^ReadWritePaths=\//m);
  // No shell reads the settings file (a comment line broke `env $(cat …)`): systemd does.
  t.notRegex(unit, /\$\(cat/);
  t.regex(read('deploy/wechat-login-migrate.service'), /^EnvironmentFile=\/etc\/wechat-login\.env$/m);
});

const systemdAnalyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((candidate) => existsSync(candidate));
(systemdAnalyze ? test : test.skip)('the systemd units pass systemd-analyze verify', (t) => {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'wechat-login-units-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  // Installed under these names (see the unit's comment); a template is verified through an instance.
  copyFileSync(path.join(root, 'deploy/wechat-login.service'), path.join(directory, 'wechat-login@.service'));
  copyFileSync(path.join(root, 'deploy/wechat-login-migrate.service'), path.join(directory, 'wechat-login-migrate.service'));
  const result = spawnSync(systemdAnalyze!, ['verify', 'wechat-login@3000.service', 'wechat-login-migrate.service'], {
    cwd: directory,
    encoding: 'utf8',
  });
  // verify names each executable it cannot find; node may live elsewhere on a developer's machine.
  const problems = `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '' && !/Command \/usr\/bin\/node is not executable/.test(line));
  t.deepEqual(problems, []);
});

/** The `environment:` mapping shared by compose's servers (`x-server`), as name → value text. */
function composeServerEnvironment(): Map<string, string> {
  const block = /^ {2}environment: &server-env\n((?: {4}.*\n| *#.*\n)+)/m.exec(read('deploy/compose.yaml'));
  if (!block) throw new Error('deploy/compose.yaml has no x-server environment');
  const entries = [...block[1].matchAll(/^ {4}([A-Z0-9_]+): (.*)$/gm)].map((match) => [match[1], match[2]] as const);
  return new Map(entries);
}

test('compose runs its two servers on the upstream ports', (t) => {
  const compose = read('deploy/compose.yaml');
  const published = [...compose.matchAll(/ports: \["127\.0\.0\.1:(\d+):3000"\]/g)].map((match) => Number(match[1]));
  t.deepEqual(published, upstreamPorts());
});

test('compose passes the SMS, OpenID Connect and MP_verify settings to the servers', (t) => {
  const environment = composeServerEnvironment();
  // Required, like the other required settings: production cannot bind a phone without a real SMS sender.
  t.is(environment.get('SMS_PROVIDER'), '${SMS_PROVIDER:-webhook}');
  t.is(environment.get('SMS_WEBHOOK_URL'), '${SMS_WEBHOOK_URL:?set SMS_WEBHOOK_URL}');
  t.is(environment.get('PUBLIC_URL'), '${PUBLIC_URL:?set PUBLIC_URL}');
  // Optional.
  for (const name of ['OIDC_CLIENTS', 'OIDC_CLIENTS_FILE', 'WECHAT_MP_VERIFY']) {
    t.is(environment.get(name), `\${${name}:-}`, name);
  }
  // Every variable is passed under its own name.
  for (const [name, value] of environment) {
    const reference = /\$\{([A-Z0-9_]+)[:}]/.exec(value);
    if (reference && name !== 'DATABASE_URL') t.is(reference[1], name);
  }
});

/**
 * Docker's .dockerignore rules: a pattern excludes a path when it matches the
 * path or one of its parent folders; `!` includes again; the last matching
 * line wins. `*` and `?` stay within one path segment, `**` spans any number.
 */
function dockerignore(text: string): (file: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = path.posix.normalize((include ? line.slice(1) : line).trim()).replace(/^\/+/, '');
      let source = '';
      for (let index = 0; index < pattern.length; index += 1) {
        const character = pattern[index];
        if (pattern.startsWith('**/', index)) {
          source += '(?:.*/)?';
          index += 2;
        } else if (pattern.startsWith('**', index)) {
          source += '.*';
          index += 1;
        } else if (character === '*') source += '[^/]*';
        else if (character === '?') source += '[^/]';
        else source += character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { include, regex: new RegExp(`^${source}$`) };
    });
  return (file) => {
    const segments = file.split('/');
    const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((candidate) => rule.regex.test(candidate))) excluded = !rule.include;
    }
    return excluded;
  };
}

test('the .dockerignore matcher follows Docker\'s rules', (t) => {
  const excluded = dockerignore('*\n!src\n**/.env\n!keep/**/x.md\n');
  t.true(excluded('README.md'));
  t.true(excluded('deploy/compose.yaml'));
  t.false(excluded('src'));
  t.false(excluded('src/db/knex.ts'));
  t.true(excluded('src/.env'));
  t.true(excluded('.env'));
  t.false(excluded('keep/a/b/x.md'));
});

/** Every file under `relative` (itself when it is a file), as paths from the root. */
function filesUnder(relative: string): string[] {
  const full = path.join(root, relative);
  if (!statSync(full).isDirectory()) return [relative];
  return readdirSync(full).flatMap((name) => filesUnder(path.posix.join(relative, name)));
}

test('every COPY source of the Dockerfile exists and gets through .dockerignore', (t) => {
  const excluded = dockerignore(read('.dockerignore'));
  const sources = read('Dockerfile')
    .split('\n')
    .filter((line) => /^COPY\s/.test(line) && !/--from=/.test(line))
    .flatMap((line) => line.trim().split(/\s+/).slice(1, -1).filter((word) => !word.startsWith('--')));
  t.true(sources.length >= 6, sources.join(' '));
  for (const source of sources) {
    t.true(existsSync(path.join(root, source)), `${source} exists`);
    const blocked = filesUnder(source).filter(excluded);
    t.deepEqual(blocked, [], `${source}: kept out of the build context by .dockerignore`);
  }
});

test('.dockerignore keeps secrets, local state and host builds out of the image', (t) => {
  const excluded = dockerignore(read('.dockerignore'));
  for (const file of [
    '.env',
    '.env.production',
    'deploy/.env',
    'src/.env',
    '.git/config',
    'node_modules/knex/package.json',
    'dist/main.js',
    'data/wechat-login.sqlite3',
    'screenshots/login.png',
    'test/deploy/samples.test.ts',
    'bench/run.sh',
    'coverage/lcov.info',
    'npm-debug.log',
    'src/debug.log',
  ]) {
    t.true(excluded(file), file);
  }
});

test('the image runs Node 22 LTS, and the user it runs as cannot rewrite its code', (t) => {
  const dockerfile = read('Dockerfile');
  const images = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
  t.deepEqual(images, ['node:22-bookworm-slim', 'node:22-bookworm-slim']);
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  // Copied files belong to root; only the SQLite folder is the node user's.
  t.notRegex(runtime, /--chown/);
  t.regex(runtime, /^RUN mkdir \/app\/data && chown node:node \/app\/data$/m);
  t.regex(runtime, /^USER node$/m);
  // The code and CI still support Node 20.
  t.is((JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node, '>=20.8');
});
