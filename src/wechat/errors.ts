/**
 * What can go wrong talking to WeChat, free of HTTP: the error handler
 * (http/error-handler.ts) decides once what each means to a browser or a client.
 */

/** WeChat answered with a non-zero errcode. The errcode and errmsg are for logs and callers. */
export class WechatError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(`WeChat ${path} failed: errcode ${errcode} (${errmsg})`);
    this.name = new.target.name;
  }
}

/**
 * The OAuth code, js_code or getPhoneNumber code was invalid (40029), already
 * used (40163) or expired (42003): the caller's problem, to be retried with a
 * new code, not WeChat being down.
 * https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
 */
export class InvalidAuthCodeError extends WechatError {}

/** WeChat could not be reached, or did not answer within the timeout, or answered with something that is not JSON. */
export class WechatNetworkError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`WeChat ${path} unreachable: ${reason}`);
    this.name = new.target.name;
  }
}

/**
 * WeChat answered without an errcode, but without something the caller cannot
 * do without (an access_token, an openid, a QR code's url), or with it in a
 * shape or length we cannot use. `fields` names them; their values are never
 * kept, since they may be personal data.
 */
export class WechatAnswerError extends Error {
  constructor(
    readonly path: string,
    readonly fields: string[],
  ) {
    super(`WeChat ${path} answered without a usable ${fields.join(', ')}`);
    this.name = new.target.name;
  }
}

/**
 * Why a callback from WeChat (or from someone pretending to be WeChat) was
 * refused: the signature, the timestamp window, the replay guard, the
 * encryption or the XML did not check out, or the push is for another account.
 */
export type CallbackRejection =
  | 'invalid_signature'
  | 'stale_timestamp'
  | 'encryption_required'
  | 'replayed_nonce'
  | 'not_decryptable'
  | 'malformed_xml'
  | 'wrong_account';

/** A callback refused by the codec or the replay guard; `reason` says which check failed. */
export class CallbackRejectedError extends Error {
  constructor(
    message: string,
    readonly reason: CallbackRejection,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
