// card-shield fraud desk: the page's only script. Polls the queue's version and swaps the list in when new alerts
// arrive (no reload, filters kept); nothing else depends on it: every action is a plain form POST.
(function () {
  'use strict';
  var queue = document.getElementById('queue');
  var live = document.getElementById('live');
  if (!queue) return;
  var POLL_MS = 3000;
  function poll() {
    var url = '/desk/api/queue-version' + window.location.search;
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error('signed out'); }
        return r.json();
      })
      .then(function (body) {
        live.classList.remove('stale');
        if (body.version === queue.getAttribute('data-version')) return undefined;
        var sep = window.location.search ? '&' : '?';
        return fetch('/desk/' + window.location.search + sep + 'partial=1', { credentials: 'same-origin' })
          .then(function (r) { return r.text(); })
          .then(function (markup) {
            var holder = document.createElement('div');
            holder.innerHTML = markup;
            var fresh = holder.querySelector('#queue');
            if (fresh) { queue.replaceWith(fresh); queue = fresh; }
          });
      })
      .catch(function () { live.classList.add('stale'); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  setTimeout(poll, POLL_MS);
})();
