/* The phone's own store (issue 18), shared by the pages (phone.js) and the service worker (/sw.js).
   IndexedDB "tpkit-phone": "passes" (each child's pass, by student id), "meta" (which child this phone shows now)
   and "outbox" (work made away from the kit). The Cache API: one cache per child, "tpkit-child-<id>". */
(function (scope) {
  "use strict";
  var DB = "tpkit-phone";
  var KEEP_HEADER = "X-Tpkit-Keep";
  var KEEP_DELIVERED_MS = 7 * 86400 * 1000; // 已送达 stays in the list a week, then leaves the phone // the kit records no "opened" for a page kept, not read (web/learn_routes.py)

  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("passes", { keyPath: "studentId" });
        db.createObjectStore("meta");
        db.createObjectStore("outbox", { keyPath: "clientId" }).createIndex("student", "studentId");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function run(name, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode), result;
        var req = work(tx.objectStore(name));
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function cacheName(studentId) { return "tpkit-child-" + studentId; }

  function fetchKept(url) {
    var headers = {};
    headers[KEEP_HEADER] = "1";
    return fetch(url, { credentials: "same-origin", headers: headers, cache: "no-cache" }).then(function (r) {
      // signed out meanwhile (a page sends to /learn): the copy kept before stays
      if (!r.ok || (r.redirected && new URL(r.url).pathname.indexOf("/learn") === 0)) return null;
      return r.redirected ? Response.redirect(r.url, 303) : r;
    }, function () { return null; });
  }

  /* Fetch the child's bundle (/me/offline.json, by the pass) into the child's cache; drop what left the list.
     Resolves {count, bytes} of what was kept now. */
  function keep(studentId) {
    return run("passes", "readonly", function (s) { return s.get(Number(studentId)); }).then(function (pass) {
      if (!pass) throw new Error("no pass");
      return fetch("/me/offline.json", { headers: { Authorization: "Bearer " + pass.token }, cache: "no-store" });
    }).then(function (r) {
      if (!r.ok) throw new Error("offline.json " + r.status);
      return r.json();
    }).then(function (bundle) {
      if (bundle.student.id !== Number(studentId)) throw new Error("another child's list");
      return caches.open(cacheName(studentId)).then(function (cache) {
        var wanted = {}, kept = { count: 0, bytes: 0 };
        var chain = Promise.resolve();
        bundle.entries.forEach(function (entry) {
          var url = new URL(entry.url, location.href).href;
          wanted[url] = true;
          chain = chain.then(function () { return fetchKept(url); }).then(function (response) {
            if (!response) return;
            kept.count += 1;
            kept.bytes += entry.size_bytes;
            return cache.put(url, response);
          });
        });
        return chain.then(function () { return cache.keys(); }).then(function (requests) {
          return Promise.all(requests.filter(function (q) { return !wanted[q.url]; }).map(function (q) {
            return cache.delete(q);
          }));
        }).then(function () {
          return run("meta", "readwrite", function (s) { return s.put(Date.now(), "kept-" + studentId); });
        }).then(function () { return kept; });
      });
    });
  }

  /* The outbox: work made on the phone, each item naming its child and carrying its own id (client id), sent with
     that child's pass, never another's. States: waiting (等待发送), delivered (已送达), refused (with the kit's
     sentence). A network failure leaves the item waiting; the kit stores a repeated item once. */
  function newId() {
    if (scope.crypto && crypto.randomUUID) return crypto.randomUUID(); // only in a secure context
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function items() { return run("outbox", "readonly", function (s) { return s.getAll(); }); }
  function save(item) { return run("outbox", "readwrite", function (s) { return s.put(item); }); }

  /* An item is a hand-in (lessonId, body, photos), a quiz's answers (quizId, answers: [[name, value]]) or a form of
     the family page (family: {url, fields: [[name, value]], sign: the card it signs, "" for a message}). */
  function send(item, pass) {
    var form = new FormData();
    form.append("student", item.studentId);
    form.append("client_id", item.clientId);
    form.append("made_at", item.madeAt);
    if (item.family) {
      item.family.fields.forEach(function (pair) { form.append(pair[0], pair[1]); });
    } else if (item.quizId) {
      form.append("quiz", item.quizId);
      item.answers.forEach(function (pair) { form.append(pair[0], pair[1]); });
    } else {
      form.append("lesson", item.lessonId);
      form.append("body", item.body);
      item.photos.forEach(function (photo) { form.append("photos", photo, photo.name || "photo.jpg"); });
    }
    var address = item.family ? item.family.url : item.quizId ? "/me/deliveries/quiz" : "/me/deliveries/handin";
    return fetch(address, {
      method: "POST", body: form, cache: "no-store",
      headers: { Authorization: "Bearer " + pass.token, Accept: "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (answer) {
        if (r.ok) {
          item.state = "delivered";
          item.photos = [];
          item.deliveredAt = new Date().toISOString();
          item.at = answer.at;
        }
        else if (r.status >= 500) return false; // busy or broken: tried again later
        else {
          // a pass that ended (401) keeps the item waiting for the child's next pass, saying why
          item.state = r.status === 401 ? "waiting" : "refused";
          item.message = answer.text || answer.message || String(r.status);
        }
        return save(item).then(function () { return true; });
      });
    });
  }

  var flushing = null;
  /* Send every waiting item of every child on this phone with its own child's pass; stops at the first network
     failure (the kit is not there). Resolves the number delivered or refused now. */
  function flush() {
    if (flushing) return flushing;
    var done = 0;
    flushing = items().then(function (all) {
      var old = new Date(Date.now() - KEEP_DELIVERED_MS).toISOString();
      all.filter(function (item) { return item.state === "delivered" && item.deliveredAt < old; }).forEach(function (i) {
        run("outbox", "readwrite", function (s) { return s.delete(i.clientId); });
      });
      return all.filter(function (item) { return item.state === "waiting"; }).reduce(function (chain, item) {
        return chain.then(function (going) {
          if (!going) return false;
          return run("passes", "readonly", function (s) { return s.get(item.studentId); }).then(function (pass) {
            if (!pass) return true; // its child signed out meanwhile: it waits for their next pass
            return send(item, pass).then(function (answered) { if (answered) done += 1; return true; });
          });
        });
      }, Promise.resolve(true));
    }).catch(function () { return false; }).then(function () { flushing = null; return done; });
    return flushing;
  }

  /* Sign-out on the phone: the child's pass, cache and queued work leave the phone. */
  function forget(studentId) {
    var id = Number(studentId);
    var gone = [
      run("passes", "readwrite", function (s) { return s.delete(id); }),
      run("outbox", "readwrite", function (s) {
        var req = s.index("student").openCursor(IDBKeyRange.only(id));
        req.onsuccess = function () { if (req.result) { req.result.delete(); req.result.continue(); } };
      }),
      run("meta", "readwrite", function (s) { s.delete("kept-" + id); return s.delete("current"); })
    ];
    if (scope.caches) gone.push(caches.delete(cacheName(id)));
    return Promise.all(gone);
  }

  scope.tpkitStore = {
    cacheName: cacheName,
    newId: newId,
    items: items,
    queue: save,
    flush: flush,
    keep: keep,
    forget: forget,
    run: run,
    pass: function (id) { return run("passes", "readonly", function (s) { return s.get(Number(id)); }); },
    savePass: function (pass) { return run("passes", "readwrite", function (s) { return s.put(pass); }); },
    current: function () { return run("meta", "readonly", function (s) { return s.get("current"); }); },
    setCurrent: function (id) { return run("meta", "readwrite", function (s) { return s.put(Number(id), "current"); }); },
    keptAt: function (id) { return run("meta", "readonly", function (s) { return s.get("kept-" + id); }); }
  };
})(self);
