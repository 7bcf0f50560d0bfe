// The page a login mini-program code opens (MINIPROGRAM_LOGIN_PAGE, pages/login/index by default).
// WeChat hands it the code's scene; it names one waiting login on the web. The page asks who is
// scanning (wx.login), shows which browser is waiting, and sends the person's answer. Every
// call carries a fresh wx.login code: the server asks WeChat who is tapping, never trusts the page.
// Written for the mini-program runtime: Page, getApp and wx are its globals.

var app = getApp();

/** wx.login as a promise: the code (valid 5 minutes, used once) that names this WeChat user to the server. */
function loginCode() {
  return new Promise(function (resolve, reject) {
    wx.login({
      success: function (result) { resolve(result.code); },
      fail: reject
    });
  });
}

/** A JSON POST to the login server; resolves with WeChat's { statusCode, data } whatever the status. */
function post(path, data) {
  return new Promise(function (resolve, reject) {
    wx.request({
      url: app.globalData.apiBase + path,
      method: 'POST',
      data: data,
      header: { 'content-type': 'application/json' },
      success: resolve,
      fail: reject
    });
  });
}

Page({
  data: {
    // loading → confirm (the waiting browser, a button or three numbers) → sent | denied; gone when the code is dead;
    // notScanned when the page was opened other than by scanning a code
    state: 'loading',
    browser: '',
    os: '',
    ip: '',
    region: '',
    numbers: null
  },

  onLoad: function (options) {
    // Only a scan of the code on the web page opens a login: 1047 scanned, 1048 long-pressed, 1049 picked from
    // the album. A page reached another way (another mini-program's navigateToMiniProgram, a shared card) could
    // carry an attacker's scene, with no code ever in front of this person.
    if ([1047, 1048, 1049].indexOf(wx.getEnterOptionsSync().scene) < 0) return Promise.resolve(this.setData({ state: 'notScanned' }));
    // WeChat passes the code's scene URL-encoded.
    this.scene = decodeURIComponent(options.scene || '');
    return this.scan();
  },

  scan: function () {
    var page = this;
    return loginCode()
      .then(function (code) { return post('/api/miniprogram/qr/scan', { scene: page.scene, code: code }); })
      .then(function (response) {
        if (response.statusCode !== 200) return page.setData({ state: 'gone' });
        page.ticket = response.data.ticket;
        page.setData({
          state: 'confirm',
          browser: response.data.browser || '',
          os: response.data.os || '',
          ip: response.data.ip || '',
          region: response.data.region || '',
          numbers: response.data.numbers
        });
      }, function () { page.setData({ state: 'gone' }); });
  },

  decide: function (decision, number) {
    var page = this;
    return loginCode()
      .then(function (code) {
        return post('/api/miniprogram/qr/confirm', { ticket: page.ticket, code: code, decision: decision, number: number });
      })
      .then(function (response) {
        if (response.statusCode !== 204) return page.setData({ state: 'gone' });
        page.setData({ state: decision === 'approve' ? 'sent' : 'denied' });
      }, function () { page.setData({ state: 'gone' }); });
  },

  /** "确认登录", when no number is asked for. */
  onApprove: function () { return this.decide('approve'); },

  /** One of the three numbers: the one the web page shows approves; another kills the login. */
  onPickNumber: function (event) { return this.decide('approve', event.currentTarget.dataset.number); },

  /** "不是我，拒绝". */
  onDeny: function () { return this.decide('deny'); }
});
