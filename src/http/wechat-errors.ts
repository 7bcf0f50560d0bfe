import { AppError, BadRequestError, ServiceUnavailableError } from '../errors.js';
import type { MessageKey } from '../messages/catalogue.js';
import { CallbackRejectedError, InvalidAuthCodeError, WechatAnswerError, WechatError, WechatNetworkError, type CallbackRejection } from '../wechat/errors.js';

/**
 * A refused callback's status and code: 401 when the request may not be
 * WeChat's (signature, timestamp, replay, plaintext in safe mode), 400 when
 * it is signed but unusable. Each reason must be listed, and each code must
 * be a message key, or this does not compile.
 */
const callbackRejections: Record<CallbackRejection, { status: 400 | 401; code: MessageKey }> = {
  invalid_signature: { status: 401, code: 'invalid_signature' },
  stale_timestamp: { status: 401, code: 'stale_timestamp' },
  encryption_required: { status: 401, code: 'encryption_required' },
  replayed_nonce: { status: 401, code: 'replayed_nonce' },
  not_decryptable: { status: 400, code: 'not_decryptable' },
  malformed_xml: { status: 400, code: 'malformed_xml' },
  wrong_account: { status: 400, code: 'wrong_account' },
};

/**
 * What a WeChat failure means over HTTP, decided here once: a refused
 * callback is the caller's problem (see callbackRejections); a bad or used
 * code is the client's problem (400: `invalid_code` for API clients, a page
 * that offers to start again for people); an answer without what the login
 * needs is WeChat answering badly (502, said to people as WeChat being
 * unavailable); anything else is WeChat being unavailable (503, so that
 * people retry and WeChat's own callbacks are retried).
 */
export function wechatErrorAsAppError(error: unknown, machineAnswer: boolean): unknown {
  if (error instanceof CallbackRejectedError) {
    const { status, code } = callbackRejections[error.reason];
    return new AppError(status, code, error.message);
  }
  if (error instanceof InvalidAuthCodeError) return new BadRequestError(error.message, machineAnswer ? 'invalid_code' : 'oauth_code');
  if (error instanceof WechatAnswerError) return new AppError(502, 'wechat_unavailable', error.message);
  if (error instanceof WechatError || error instanceof WechatNetworkError) return new ServiceUnavailableError(error.message, 'wechat_unavailable');
  return error;
}
