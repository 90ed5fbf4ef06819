/* tpkit's service worker (issue 18): the signed-in child's pages open with no network. Pages: the network first,
   after PAGE_WAIT_MS the child's cache; books' /content/ entries: the cache first. Only the cache of the child this
   phone shows now ever answers (static/phone_store.js). */
importScripts("/static/phone_store.js");
var PAGE_WAIT_MS = 3000; // the classroom Wi-Fi answers in well under a second; at home there is no answer at all

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function kept(request) {
  return tpkitStore.current().then(function (id) {
    if (id === undefined) return undefined;
    return caches.open(tpkitStore.cacheName(id)).then(function (cache) {
      return cache.match(request).then(function (found) {
        return found || cache.match(new URL(request.url).pathname);
      });
    });
  }).catch(function () { return undefined; });
}

function networkFirst(request) {
  var timer, network = fetch(request);
  var late = new Promise(function (resolve, reject) { timer = setTimeout(reject, PAGE_WAIT_MS); });
  return Promise.race([network, late]).then(function (response) {
    clearTimeout(timer);
    return response;
  }, function () {
    clearTimeout(timer);
    return kept(request).then(function (found) { return found || network; });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.indexOf("/content/") === 0) {
    event.respondWith(kept(request).then(function (found) { return found || fetch(request); }));
  } else if (request.mode === "navigate" || /^\/(me|files\/lesson)(\/|$)/.test(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});

self.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "keep") return;
  var source = event.source;
  event.waitUntil(tpkitStore.keep(event.data.studentId).then(function (done) {
    source.postMessage({ type: "kept", count: done.count, bytes: done.bytes });
  }, function (error) {
    source.postMessage({ type: "keep-failed", reason: String(error) });
  }));
});
