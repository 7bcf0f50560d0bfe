import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the key is kept between test processes (ava runs each file in its own):
 * the usual home of tools' caches, outside git, and gone with node_modules.
 */
const cacheFile = path.resolve(__dirname, '../../node_modules/.cache/wechat-login/test-oidc-signing-key.json');

let key: KeyObject | undefined;

/**
 * The RSA key of the OpenID Provider's first signing key in every database a
 * test server starts on. Generating one costs about 250 ms of CPU, and some 240
 * tests start a server: it is made the first time a test needs it (a fresh
 * clone needs nothing prepared) and kept, so later test processes and later runs
 * read it instead. Only test servers use it; a production database still gets
 * its own (src/oidc/signing-keys.ts).
 */
export function testSigningKey(): KeyObject {
  key ??= readCachedKey() ?? generateAndCache();
  return key;
}

function readCachedKey(): KeyObject | undefined {
  try {
    const cached = createPrivateKey({ key: JSON.parse(readFileSync(cacheFile, 'utf8')) as JsonWebKey, format: 'jwk' });
    return cached.asymmetricKeyType === 'rsa' && cached.asymmetricKeyDetails?.modulusLength === 2048 ? cached : undefined;
  } catch {
    // None yet (a fresh clone), or unreadable: a new one replaces it.
    return undefined;
  }
}

function generateAndCache(): KeyObject {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  try {
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    // Written aside, then renamed: a process starting meanwhile reads a whole key or none.
    // Two processes that both generate one each keep their own; the last rename stays for the next ones.
    const partial = `${cacheFile}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(privateKey.export({ format: 'jwk' })), { mode: 0o600 });
    renameSync(partial, cacheFile);
  } catch {
    // Cannot write there (a read-only checkout, say): this process still makes it only once.
  }
  return privateKey;
}
