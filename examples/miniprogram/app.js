// The mini-program's app: where the wechat-login server is. Replace apiBase with your PUBLIC_URL,
// and add it to the mini-program's "request 合法域名" in the admin console.
App({
  globalData: { apiBase: 'https://login.example.com' }
});
