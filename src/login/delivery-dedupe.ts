import NodeCache from 'node-cache';
import { callbackRetryWindowSeconds } from '../wechat/constants.js';

/**
 * WeChat retries a callback it got no answer to within 5 s, up to three
 * times. A retry of a delivery we already handled (or are handling) gets the
 * same reply and has no second effect. A failed attempt is forgotten, so
 * WeChat's retry gets a real second chance.
 */
export function createDeliveryDeduper(ttlSeconds = callbackRetryWindowSeconds * 5) {
  const inFlight = new Map<string, Promise<string>>();
  const done = new NodeCache({ stdTTL: ttlSeconds, checkperiod: 60, useClones: false });

  async function once(key: string, handle: () => Promise<string>): Promise<string> {
    const finished = done.get<string>(key);
    if (finished !== undefined) return finished;
    const running = inFlight.get(key);
    if (running) return running;
    const attempt = handle().then((reply) => {
      done.set(key, reply);
      return reply;
    });
    inFlight.set(key, attempt);
    try {
      return await attempt;
    } finally {
      inFlight.delete(key);
    }
  }

  return { once, close: () => done.close() };
}

export type DeliveryDeduper = ReturnType<typeof createDeliveryDeduper>;
