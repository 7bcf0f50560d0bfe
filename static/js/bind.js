// The bind page's resend countdown. Without this script the page says "you
// can ask for a new code in N seconds"; with it, the send button counts down
// instead, for the number the code went to (another number may be sent at once).
(function () {
  'use strict';
  var hint = document.getElementById('resend-hint');
  var button = document.getElementById('send-code');
  var input = document.getElementById('phone-send');
  if (!hint || !button || !input) return;
  var deadline = Date.now() + (Number(hint.getAttribute('data-seconds')) || 0) * 1000;
  var wait = hint.getAttribute('data-wait');
  var ready = hint.getAttribute('data-ready');
  // The last 11 digits: "+86 138 0013 8000" and "13800138000" are the same number.
  var digits = function (value) { return String(value || '').replace(/\D/g, '').slice(-11); };
  var sentTo = digits(hint.getAttribute('data-phone'));
  var timer = null;

  function update() {
    var left = Math.ceil((deadline - Date.now()) / 1000);
    if (left > 0 && digits(input.value) === sentTo) {
      button.disabled = true;
      button.textContent = wait.replace('{seconds}', String(left));
    } else {
      button.disabled = false;
      button.textContent = ready;
    }
    if (left <= 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  }

  // The button says it now.
  hint.hidden = true;
  input.addEventListener('input', update);
  update();
  timer = setInterval(update, 1000);
})();
