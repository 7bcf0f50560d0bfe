import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { BadRequestError } from '../errors.js';

/**
 * Reads a whole request body as UTF-8 text, refusing (400) one over
 * `limitBytes` before reading it all, and one that is not valid UTF-8.
 */
export async function readTextBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await getRawBody(req, { limit: limitBytes });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new BadRequestError(`body over ${limitBytes} bytes`, 'body_too_large');
    throw new BadRequestError('body could not be read', 'bad_body');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequestError('body is not valid UTF-8', 'bad_encoding');
  }
}
