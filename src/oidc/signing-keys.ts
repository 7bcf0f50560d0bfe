import { createCipheriv, createDecipheriv, createHash, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Knex } from 'knex';

/** A private signing key as oidc-provider takes it (`jwks.keys`). */
export type PrivateJwk = JsonWebKey & { kid: string; alg: string; use: 'sig' };

export interface RotationResult {
  /** The new signing key's id (the `kid` in new tokens' headers). */
  kid: string;
  generation: number;
  /** The key that signed until now: still published, so tokens it signed keep verifying. */
  previousKid?: string;
  /** Keys older than that, now deleted. */
  removedKids: string[];
}

const alg = 'RS256';
/** The current key and the one before it are published; older ones are deleted on rotation. */
const publishedGenerations = 2;

interface KeyRow {
  generation: number;
  kid: string;
  alg: string;
  encrypted_jwk: string;
}

/** Makes the private RSA key of a new signing key. */
export type GenerateRsaKey = () => KeyObject;

/** A fresh 2048-bit key: about 250 ms of CPU. */
const generateRsaKey: GenerateRsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** A new signing key, its kid the RFC 7638 thumbprint of its public part. */
function generateSigningKey(generate: GenerateRsaKey): PrivateJwk {
  const jwk = generate().export({ format: 'jwk' });
  const thumbprint = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return { ...jwk, kid: thumbprint, alg, use: 'sig' };
}

/** AES-256-GCM with the newest derived key; the output names no key, decryption tries each. */
function encrypt(jwk: PrivateJwk, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
}

function decrypt(row: KeyRow, keys: Buffer[]): PrivateJwk {
  const [iv, tag, ciphertext] = row.encrypted_jwk.split('.').map((part) => Buffer.from(part, 'base64url'));
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      return JSON.parse(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')) as PrivateJwk;
    } catch {
      // Encrypted under another SESSION_KEYS entry: try the next one.
    }
  }
  throw new Error(
    `cannot decrypt OIDC signing key ${row.kid} (generation ${row.generation}): it was encrypted under a SESSION_KEYS entry that is no longer configured. ` +
      'Keep the old key in SESSION_KEYS (after the new one), or rotate the OIDC signing keys.',
  );
}

async function newestRows(knex: Knex): Promise<KeyRow[]> {
  return knex('oidc_signing_keys')
    .select('generation', 'kid', 'alg', 'encrypted_jwk')
    .orderBy('generation', 'desc')
    .limit(publishedGenerations);
}

/** Inserts `generation`; false when another server inserted that generation first. */
async function insertGeneration(knex: Knex, generation: number, jwk: PrivateJwk, encryptionKeys: Buffer[]): Promise<boolean> {
  try {
    await knex('oidc_signing_keys').insert({
      generation,
      kid: jwk.kid,
      alg: jwk.alg,
      encrypted_jwk: encrypt(jwk, encryptionKeys[0]),
      created_at_ms: Date.now(),
    });
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'ER_DUP_ENTRY' || code.startsWith('SQLITE_CONSTRAINT')) return false;
    throw error;
  }
}

/**
 * The published signing keys, newest (the one that signs) first. The first
 * start generates one; servers starting together agree on it, because the
 * generation number is unique and the loser reads the winner's key.
 * `generate` makes that first key's RSA key; the tests' servers pass one made
 * once instead of 250 ms of CPU each (test/helpers/test-signing-key.ts).
 */
export async function loadOidcSigningKeys(knex: Knex, encryptionKeys: Buffer[], generate: GenerateRsaKey = generateRsaKey): Promise<PrivateJwk[]> {
  let rows = await newestRows(knex);
  if (rows.length === 0) {
    await insertGeneration(knex, 1, generateSigningKey(generate), encryptionKeys);
    rows = await newestRows(knex);
  }
  return rows.map((row) => decrypt(row, encryptionKeys));
}

/**
 * Rotates the OpenID Provider's signing key: a new key becomes the one that
 * signs, the current one stays published (tokens it signed keep verifying),
 * and anything older is deleted. Running servers load keys when they start,
 * so restart them afterwards. `encryptionKeys` is `config.keys.oidcSigningKey`.
 */
export async function rotateOidcSigningKeys(knex: Knex, encryptionKeys: Buffer[]): Promise<RotationResult> {
  for (;;) {
    const current = await newestRows(knex);
    // Fails loudly, before anything changes, when the stored keys cannot be read with these SESSION_KEYS.
    current.forEach((row) => decrypt(row, encryptionKeys));
    const generation = (current[0]?.generation ?? 0) + 1;
    const jwk = generateSigningKey(generateRsaKey);
    // Two rotations at once: one wins the generation number, the other tries again on top of it.
    if (!(await insertGeneration(knex, generation, jwk, encryptionKeys))) continue;
    const stale = await knex('oidc_signing_keys')
      .select('kid')
      .where('generation', '<=', generation - publishedGenerations)
      .orderBy('generation');
    await knex('oidc_signing_keys').where('generation', '<=', generation - publishedGenerations).delete();
    return { kid: jwk.kid, generation, previousKid: current[0]?.kid, removedKids: stale.map((row: { kid: string }) => row.kid) };
  }
}
