// The login page's long-poll: ask /login/poll, which answers as soon as the
// code is scanned (or "pending" after a while), and ask again. The page shows
// one state at a time (data-state on #login-state: pending, scanned, denied,
// expired); this script only changes that attribute and a few texts.
(function () {
  'use strict';
  var qr = document.getElementById('qr');
  var box = document.getElementById('login-state');
  if (!qr || !box) return;
  var scene = qr.getAttribute('data-scene');
  var expiresAt = Date.parse(qr.getAttribute('data-expires-at'));
  // How many more times an expired code is renewed without the visitor asking (the server counts them too).
  var renewalsLeft = Number(qr.getAttribute('data-auto-renewals-left')) || 0;
  var statusEl = document.getElementById('status');
  var countdownEl = document.getElementById('countdown');
  // The visible countdown is aria-hidden; this polite live region speaks only when the whole minutes change.
  var noticeEl = document.getElementById('expiry-notice');
  var minutesSaid = null;
  var messages = document.getElementById('messages');
  var text = function (name) { return messages ? messages.getAttribute('data-' + name) : ''; };
  var numberEl = document.getElementById('pick-number');
  var stopped = false;
  var failures = 0;
  var ticker = null;
  var state = box.getAttribute('data-state');
  // Once the page shows the number, the server holds the next poll until the scanner decides.
  var seenScanned = state === 'scanned';

  // The address of this way in (a QR code, or a code to send): renewals stay on it.
  var loginHref = qr.getAttribute('data-login-href') || '/login';

  box.classList.add('js');
  // A renewal's address is not one to keep: reloading it by hand is the visitor asking, not the script.
  if (/[?&]renew=auto$/.test(window.location.search) && window.history.replaceState) window.history.replaceState(null, '', loginHref);

  function show(next) {
    state = next;
    box.setAttribute('data-state', next);
    // A dead or scanned code has no countdown.
    if (next !== 'pending' && ticker !== null) { clearInterval(ticker); ticker = null; }
  }

  function showExpired() {
    stopped = true;
    show('expired');
    statusEl.textContent = text('expired');
    // A fresh code without the visitor doing anything, a few times; then the button waits for them,
    // so that a forgotten tab does not cost a QR code every few minutes forever.
    if (renewalsLeft > 0) setTimeout(function () { window.location.replace(loginHref + (loginHref.indexOf('?') < 0 ? '?' : '&') + 'renew=auto'); }, 1500);
  }

  // /login/poll answers 403 when this session did not create the scene: the browser keeps no
  // cookie (or lost it). Ask the server once; it explains cookies when none came back.
  function checkCookies() {
    stopped = true;
    if (/[?&]cookies=check(&|$)/.test(window.location.search)) { showExpired(); return; }
    window.location.replace('/login?cookies=check');
  }

  function tick() {
    var left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    countdownEl.textContent = String(left);
    var minutes = Math.ceil(left / 60);
    if (noticeEl && minutes > 0 && minutes !== minutesSaid) {
      // The first tick only remembers what the page already says, so nothing is announced on load.
      if (minutesSaid !== null) noticeEl.textContent = minutes > 1 ? text('minutes').replace('{n}', String(minutes)) : text('minute');
      minutesSaid = minutes;
    }
    if (left === 0 && !stopped) showExpired();
  }

  function poll() {
    if (stopped) return;
    var query = '?scene=' + encodeURIComponent(scene) + (seenScanned ? '&seen=scanned' : '');
    fetch('/login/poll' + query, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 403) { checkCookies(); return null; }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (!answer || stopped) return;
        failures = 0;
        if (answer.status === 'success' || answer.status === 'bind') {
          stopped = true;
          statusEl.textContent = text('scanned');
          window.location.assign(answer.redirect);
        } else if (answer.status === 'scanned') {
          seenScanned = true;
          numberEl.textContent = answer.number;
          show('scanned');
          statusEl.textContent = '';
          poll();
        } else if (answer.status === 'denied') {
          // The code is dead; a new one only when the visitor asks for it.
          stopped = true;
          show('denied');
          statusEl.textContent = '';
        } else if (answer.status === 'expired') {
          showExpired();
        } else {
          poll();
        }
      })
      .catch(function () {
        // A restarting server or a flaky network: back off, then try again, each browser at its own moment
        // (half to one and a half times the back-off), so that the browsers a restart cut off do not all come back at once.
        failures += 1;
        setTimeout(poll, Math.min(1000 * failures, 5000) * (0.5 + Math.random()));
      });
  }

  // A browser that says outright it refuses cookies is told so before it waits for a scan that cannot work.
  if (navigator.cookieEnabled === false) { checkCookies(); return; }
  if (state === 'denied' || state === 'expired') {
    stopped = true;
    return;
  }
  if (state === 'pending') {
    statusEl.textContent = text('waiting');
    tick();
    ticker = setInterval(tick, 1000);
  }
  poll();
})();
