/* tpkit's service worker (issue 18): the signed-in child's pages open with no network. Pages: the network first,
   after PAGE_WAIT_MS the child's cache; books' /content/ entries: the cache first. Only the cache of the child this
   phone shows now ever answers (static/phone_store.js). */
importScripts("/static/phone_store.js");
var PAGE_WAIT_MS = 3000;
var SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads"; // the classroom Wi-Fi answers in well under a second; at home there is no answer at all

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

/* A book's page runs in an opaque origin (web/book_origin.py), which no service worker serves: offline, the kept
   article goes into its frame as srcdoc (still sandboxed), its kept pictures and style sheets as data: addresses. */
function dataUrl(response) {
  return response.arrayBuffer().then(function (buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i += 8192) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    return "data:" + (response.headers.get("content-type") || "") + ";base64," + btoa(text);
  });
}

function keptFinal(url) {
  return kept(new Request(url)).then(function (found) {
    var next = found && found.status >= 300 && found.status < 400 && found.headers.get("location");
    return next ? kept(new Request(new URL(next, url).href)) : found;
  });
}

function inlined(articleUrl) {
  return keptFinal(articleUrl).then(function (article) {
    if (!article) return null;
    return article.text().then(function (html) {
      var links = html.match(/(src|href)="[^"]+"/g) || [];
      return Promise.all(links.map(function (attribute) {
        var link = attribute.slice(attribute.indexOf('"') + 1, -1);
        return keptFinal(new URL(link.replace(/&amp;/g, "&"), article.url || articleUrl).href).then(function (r) {
          return r && r.ok ? dataUrl(r).then(function (d) { html = html.split('"' + link + '"').join('"' + d + '"'); }) : null;
        });
      })).then(function () { return html; });
    });
  });
}

function withArticle(page) {
  return page.text().then(function (html) {
    var src = html.match(/<iframe class="book" src="([^"]+)"/);
    if (!src) return new Response(html, page);
    return inlined(new URL(src[1].replace(/&amp;/g, "&"), location.href).href).then(function (article) {
      if (article === null) return new Response(html, page);
      var escaped = article.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
      return new Response(html.replace(src[0], '<iframe class="book" srcdoc="' + escaped + '"'), page);
    });
  });
}

function networkFirst(request, network) {
  var timer;
  var late = new Promise(function (resolve, reject) { timer = setTimeout(reject, PAGE_WAIT_MS); });
  return Promise.race([network, late]).then(function (response) {
    clearTimeout(timer);
    return response;
  }, function () {
    clearTimeout(timer);
    var path = new URL(request.url).pathname;
    if (path.indexOf("/content/") === 0) { // a book's page opened by itself: its pictures inlined, its sandbox kept
      return inlined(request.url).then(function (html) {
        return html === null ? network : new Response(html, { headers: {
          "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": SANDBOX } });
      });
    }
    return kept(request).then(function (found) {
      if (!found) return network;
      return /^\/me\/lessons\/\d+\/items\/\d+$/.test(path) ? withArticle(found) : found;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.indexOf("/content/") === 0 && request.mode !== "navigate") {
    event.respondWith(kept(request).then(function (found) { return found || fetch(request); }));
  } else if (url.pathname.indexOf("/content/") === 0) {
    // asked again, not taken from the browser's own cache: its pictures could not come from there (opaque origin)
    event.respondWith(networkFirst(request, fetch(request.url, { cache: "no-cache", credentials: "same-origin", redirect: "manual" })));
  } else if (request.mode === "navigate" || /^\/(me|static|files\/lesson|files\/quiz-picture)(\/|$)/.test(url.pathname)) {
    event.respondWith(networkFirst(request, fetch(request)));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "tpkit-outbox") event.waitUntil(tpkitStore.flush());
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
