/**
 * WeChat protocol facts, each with the document it comes from.
 */

/** https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html */
export const classicTokenPath = '/cgi-bin/token';
/** https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html */
export const stableTokenPath = '/cgi-bin/stable_token';
/** https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html */
export const qrcodeCreatePath = '/cgi-bin/qrcode/create';
export const showQrcodePath = '/cgi-bin/showqrcode';
/** https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html */
export const userInfoPath = '/cgi-bin/user/info';
/** https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html (批量获取用户基本信息): at most 100 openids a call. */
export const userInfoBatchPath = '/cgi-bin/user/info/batchget';
export const maxUserInfoBatch = 100;
/** https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html */
export const oauthAuthorizePath = '/connect/oauth2/authorize';
/** The Open Platform's website login page (scope snsapi_login). */
export const qrconnectPath = '/connect/qrconnect';
export const oauthAccessTokenPath = '/sns/oauth2/access_token';
export const snsUserInfoPath = '/sns/userinfo';
/** https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html */
export const jscode2sessionPath = '/sns/jscode2session';
/** https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html */
export const getUserPhoneNumberPath = '/wxa/business/getuserphonenumber';
/** A mini-program code for a page and a scene, unlimited in number, 5000 a minute per mini-program. */
export const unlimitedCodePath = '/wxa/getwxacodeunlimit';
export const unlimitedCodesPerMinute = 5000;
/** getwxacodeunlimit's scene: at most 32 visible characters. */
export const maxMiniCodeSceneLength = 32;
/** https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html */
export const customSendPath = '/cgi-bin/message/custom/send';
/** The JS-SDK ticket (type=jsapi). */
export const jsapiTicketPath = '/cgi-bin/ticket/getticket';
/**
 * custom/send refused: 45015 the user has not interacted with the account in
 * the last 48 hours; 43004 the user does not follow the account.
 */
export const customSendOutOfWindowErrcode = 45_015;
export const requireSubscribeErrcode = 43_004;

/**
 * The access_token is invalid (40001), malformed (40014) or expired (42001):
 * drop it, refresh once and retry once.
 * https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
 */
export const invalidAccessTokenErrcodes = [40_001, 40_014, 42_001];
/** The account may not call this API (48001): an unverified or subscription account asking for QR codes, OAuth or customer-service messages. */
export const apiUnauthorizedErrcode = 48_001;
/** The daily quota of an API is used up (for qrcode/create: 100,000 a day for a service account, 10,000 for a test account). */
export const apiQuotaReachedErrcode = 45_009;
/** The OAuth code, js_code or phone code is invalid (40029), used (40163) or expired (42003). */
export const invalidAuthCodeErrcodes = [40_029, 40_163, 42_003];

/** The longest `scene_str` qrcode/create accepts. */
export const maxSceneStrLength = 64;
/** Temporary QR codes live from 60 seconds to 30 days. */
export const minQrExpireSeconds = 60;
export const maxQrExpireSeconds = 2_592_000;
/** `subscribe` events from a parametric QR code carry EventKey `qrscene_<scene>`. */
export const subscribeScenePrefix = 'qrscene_';

/**
 * WeChat gives up on a callback after 5 s and retries it up to three times.
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
 */
export const callbackRetryWindowSeconds = 60;
/** Callback bodies are small; anything bigger is refused before parsing. */
export const maxCallbackBodyBytes = 64 * 1024;
