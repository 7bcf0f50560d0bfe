// The simulator's WeChat website login page (connect/qrconnect): WeChat's own page waits for the phone and then
// goes back to the site by itself. This asks whether the phone has answered, and then follows the page's own link.
(function () {
  'use strict';
  var box = document.getElementById('qrconnect');
  var check = document.getElementById('qrconnect-check');
  if (!box || !check) return;
  var id = box.getAttribute('data-request');
  function ask() {
    fetch('/simulator/qrconnect/status?id=' + encodeURIComponent(id), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : { decided: false }; })
      .then(function (answer) {
        if (answer.decided) window.location.assign(check.getAttribute('href'));
        else setTimeout(ask, 1500);
      }, function () { setTimeout(ask, 3000); });
  }
  setTimeout(ask, 1000);
})();
