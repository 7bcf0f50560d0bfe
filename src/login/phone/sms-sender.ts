import type { Logger } from '../../logging/logger.js';
import { ServiceUnavailableError } from '../../errors.js';
import { maskPhone } from './phone.js';

export interface SmsMessage {
  phone: string;
  code: string;
  purpose: 'bind';
}

export type SmsSender = (message: SmsMessage) => Promise<void>;

/** What the `console` provider sent, newest last: the simulator shows it as an inbox. */
export function createSmsInbox(capacity = 50) {
  const messages: (SmsMessage & { at: Date })[] = [];
  return {
    add(message: SmsMessage) {
      messages.push({ ...message, at: new Date() });
      if (messages.length > capacity) messages.shift();
    },
    list: () => [...messages].reverse(),
  };
}

export type SmsInbox = ReturnType<typeof createSmsInbox>;

/**
 * The development provider: the code goes to the log and the simulator's
 * inbox. This is the one place a code is logged, by design; production
 * deployments use the webhook.
 */
export function createConsoleSmsSender(logger: Logger, inbox: SmsInbox): SmsSender {
  return async (message) => {
    inbox.add(message);
    logger.info('sms (console provider)', { phone: maskPhone(message.phone), code: message.code, purpose: message.purpose });
  };
}

/** POSTs `{"phone", "code", "purpose"}` as JSON to the configured address; any failure is a 503. */
export function createWebhookSmsSender(url: string, logger: Logger, timeoutMs = 5000): SmsSender {
  return async (message) => {
    let ok = false;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(timeoutMs),
      });
      ok = response.ok;
    } catch {
      ok = false;
    }
    if (!ok) {
      logger.warn('sms webhook failed', { phone: maskPhone(message.phone) });
      throw new ServiceUnavailableError('the SMS provider failed', 'service_unavailable');
    }
  };
}
