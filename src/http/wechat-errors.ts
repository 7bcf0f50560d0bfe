import { BadRequestError, ServiceUnavailableError } from '../errors.js';
import { InvalidAuthCodeError, WechatError, WechatNetworkError } from '../wechat/errors.js';

/**
 * What a WeChat failure means over HTTP, decided here once: a bad or used
 * code is the client's problem (400: `invalid_code` for API clients, a page
 * that offers to start again for people); anything else is WeChat being
 * unavailable (503, so that people retry and WeChat's own callbacks are retried).
 */
export function wechatErrorAsAppError(error: unknown, machineAnswer: boolean): unknown {
  if (error instanceof InvalidAuthCodeError) return new BadRequestError(error.message, machineAnswer ? 'invalid_code' : 'oauth_code');
  if (error instanceof WechatError || error instanceof WechatNetworkError) return new ServiceUnavailableError(error.message, 'wechat_unavailable');
  return error;
}
