// The login page's long-poll: ask /login/poll, which answers as soon as the
// code is scanned (or "pending" after a while), and ask again. A new code is
// fetched by reloading the page when the old one expires.
(function () {
  'use strict';
  var qr = document.getElementById('qr');
  if (!qr) return;
  var scene = qr.getAttribute('data-scene');
  var expiresAt = Date.parse(qr.getAttribute('data-expires-at'));
  var statusEl = document.getElementById('status');
  var countdownEl = document.getElementById('countdown');
  // The visible countdown is aria-hidden; this polite live region speaks only when the whole minutes change.
  var noticeEl = document.getElementById('expiry-notice');
  var minutesSaid = null;
  var messages = document.getElementById('messages');
  var text = function (name) { return messages ? messages.getAttribute('data-' + name) : ''; };
  var scannedEl = document.getElementById('scanned');
  var deniedEl = document.getElementById('denied');
  var numberEl = document.getElementById('pick-number');
  var stopped = false;
  var failures = 0;
  // Once the page shows the number, the server holds the next poll until the scanner decides.
  var seenScanned = false;

  function showExpired() {
    stopped = true;
    qr.classList.add('expired');
    qr.querySelector('.qr-expired').hidden = false;
    statusEl.textContent = text('expired');
    // A fresh code, without the visitor having to do anything.
    setTimeout(function () { window.location.replace('/login'); }, 1500);
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
        if (response.status === 403) { stopped = true; window.location.replace('/login'); return null; }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (!answer) return;
        failures = 0;
        if (answer.status === 'success' || answer.status === 'bind') {
          stopped = true;
          statusEl.textContent = text('scanned');
          window.location.assign(answer.redirect);
        } else if (answer.status === 'scanned') {
          seenScanned = true;
          numberEl.textContent = answer.number;
          scannedEl.hidden = false;
          qr.classList.add('scanned');
          statusEl.textContent = '';
          poll();
        } else if (answer.status === 'denied') {
          // The code is dead; a new one only when the visitor asks for it.
          stopped = true;
          scannedEl.hidden = true;
          deniedEl.hidden = false;
          qr.classList.add('expired');
          statusEl.textContent = '';
        } else if (answer.status === 'expired') {
          scannedEl.hidden = true;
          showExpired();
        } else {
          poll();
        }
      })
      .catch(function () {
        // A restarting server or a flaky network: back off, then try again.
        failures += 1;
        setTimeout(poll, Math.min(1000 * failures, 5000));
      });
  }

  if (scannedEl && !scannedEl.hidden) seenScanned = true;
  if (deniedEl && !deniedEl.hidden) stopped = true;
  if (!seenScanned && !stopped) statusEl.textContent = text('waiting');
  tick();
  setInterval(tick, 1000);
  poll();
})();
