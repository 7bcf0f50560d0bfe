import { ServiceUnavailableError } from '../errors.js';

/**
 * WeChat answered with a non-zero errcode. Shown to users as "WeChat is
 * unavailable" (503); the errcode and errmsg are for logs and callers.
 */
export class WechatError extends ServiceUnavailableError {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(`WeChat ${path} failed: errcode ${errcode} (${errmsg})`, 'wechat_unavailable');
  }
}

/** WeChat could not be reached, or did not answer within the timeout, or answered with something that is not JSON. */
export class WechatNetworkError extends ServiceUnavailableError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`WeChat ${path} unreachable: ${reason}`, 'wechat_unavailable');
  }
}
