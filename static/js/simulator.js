// The simulator's phone page keeps itself current: every few seconds it asks
// /simulator/version (a hash of what the page shows), and when that changed it
// fetches the page again and swaps in the parts marked data-live. No reload,
// so nothing typed is lost. Without JavaScript the page works as before.
(function () {
  'use strict';
  var root = document.getElementById('simulator');
  if (!root || !window.fetch || !window.DOMParser) return;
  var news = document.getElementById('simulator-news');
  var everyMs = 1500;

  function query() {
    var as = root.getAttribute('data-as');
    return as ? '?as=' + encodeURIComponent(as) : '';
  }

  function count(within, selector) {
    return within.querySelectorAll(selector).length;
  }

  /** What a screen reader user is told, politely, after an update. */
  function changesBetween(before, after) {
    var said = [];
    var newTickets = [].filter.call(after.querySelectorAll('.tickets li[data-scene]'), function (item) {
      return !before.querySelector('.tickets li[data-scene="' + item.getAttribute('data-scene') + '"]');
    });
    if (newTickets.length) said.push(news.getAttribute('data-codes'));
    if (count(after, '.chat .bubble') > count(before, '.chat .bubble')) said.push(news.getAttribute('data-chat'));
    if (count(after, '.sms-code') > count(before, '.sms-code')) said.push(news.getAttribute('data-sms'));
    return said.join('. ');
  }

  /** Names a control by what it does, so that focus can find its twin in the fresh copy. */
  function controlKey(element) {
    var form = element.closest('form');
    var scene = element.closest('[data-scene]');
    return [element.tagName, element.getAttribute('href'), form && form.getAttribute('action'),
      scene && scene.getAttribute('data-scene'), element.textContent].join('|');
  }

  /** Swaps one part; a keyboard user's focus stays on the same control when it is still there. */
  function swap(current, fresh) {
    var focused = current.contains(document.activeElement) ? controlKey(document.activeElement) : null;
    var copy = document.importNode(fresh, true);
    current.replaceWith(copy);
    if (focused === null) return;
    var twin = [].filter.call(copy.querySelectorAll('a, button, input'), function (element) {
      return controlKey(element) === focused;
    })[0];
    if (twin) return twin.focus();
    // The control is gone (Follow became Unfollow): keep the place, not the page's top.
    copy.setAttribute('tabindex', '-1');
    copy.focus();
  }

  function refresh() {
    return fetch('/simulator' + query(), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('simulator');
        if (!fresh) return;
        var said = changesBetween(root, fresh);
        [].forEach.call(fresh.querySelectorAll('[data-live]'), function (part) {
          var current = root.querySelector('[data-live="' + part.getAttribute('data-live') + '"]');
          if (current) swap(current, part);
        });
        root.setAttribute('data-version', fresh.getAttribute('data-version'));
        root.setAttribute('data-as', fresh.getAttribute('data-as'));
        if (said && news) news.textContent = said;
      });
  }

  function check() {
    fetch('/simulator/version' + query(), { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (answer.version !== root.getAttribute('data-version')) return refresh();
      })
      // A restarting dev server: try again at the next tick.
      .catch(function () {})
      .then(function () { setTimeout(check, everyMs); });
  }

  setTimeout(check, everyMs);
})();
