/* A student's pages on a phone (issue 18): registers the service worker, keeps the pass "带回家" hands over, keeps
   the child's lessons fresh on each visit on the classroom Wi-Fi, and clears the phone at sign-out. Every page works
   without this script; where service workers are missing (plain HTTP) the pass still goes into IndexedDB. */
(function () {
  "use strict";
  var store = window.tpkitStore, student = document.body.getAttribute("data-student");
  var REFRESH_AFTER_MS = 10 * 60 * 1000; // one refresh per visit, not one per page
  if (!store || !window.indexedDB || !student) return;
  var worker = "serviceWorker" in navigator && "caches" in window;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }
  function say(el, key, values) {
    if (!el) return;
    el.textContent = fill(el.getAttribute("data-" + key) || "", values || {});
    el.hidden = false;
  }

  function size(bytes) {
    return bytes < 1048576 ? Math.ceil(bytes / 1024) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
  }

  function keepNow(stateEl) {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data.type === "kept") {
          say(stateEl, "kept", { count: event.data.count, size: size(event.data.bytes) });
          document.body.setAttribute("data-kept", "yes");
        } else if (event.data.type === "keep-failed") {
          say(stateEl, "failed");
          document.body.setAttribute("data-kept", "failed");
        }
      });
      registration.active.postMessage({ type: "keep", studentId: Number(student) });
    });
  }

  var handed = document.getElementById("take-home");
  var ready = store.setCurrent(student);
  if (handed) {
    var stateEl = document.getElementById("take-home-state"), token = handed.getAttribute("data-token");
    handed.removeAttribute("data-token");
    ready = ready.then(function () {
      return store.savePass({ studentId: Number(student), name: handed.getAttribute("data-name"), token: token,
        madeAt: new Date().toISOString() });
    }).then(function () {
      if (!worker) { say(stateEl, "cannot"); document.body.setAttribute("data-kept", "no-worker"); return; }
      say(stateEl, "keeping");
      return keepNow(stateEl);
    });
  } else if (worker) {
    ready = ready.then(function () {
      return Promise.all([store.pass(student), store.keptAt(student)]);
    }).then(function (found) {
      var stateEl = document.getElementById("phone-state");
      navigator.serviceWorker.register("/sw.js", { scope: "/" });
      if (!found[0]) return;
      if (found[1]) say(stateEl, "kept-at", { when: new Date(found[1]).toLocaleString() });
      if (navigator.onLine && !(found[1] > Date.now() - REFRESH_AFTER_MS)) return keepNow(stateEl);
    });
  }
  ready.catch(function () { document.body.setAttribute("data-kept", "failed"); });

  // The outbox (hand-ins made away from the kit): on a phone holding this child's pass, a hand-in is queued with its
  // own id and sent now if the kit answers, else on the next visit; its state shows under the form.
  var list = document.getElementById("outbox");
  var handIn = document.querySelector("form.handin, form.take.offline");
  var quizStart = document.querySelector('form[action$="/start"][action^="/me/quizzes/"]');
  var SEND_EVERY_MS = 30 * 1000;

  function stateOf(item, holder) {
    var state = document.createElement("b"), said = holder.getAttribute("data-" + item.state) || "";
    state.textContent = item.state === "refused" ? item.message : said + (item.message ? " · " + item.message : "");
    return state;
  }

  function show() {
    if (!list) return Promise.resolve();
    return store.items().then(function (all) {
      var lesson = Number(list.getAttribute("data-lesson")), quiz = Number(list.getAttribute("data-quiz"));
      var mine = all.filter(function (item) {
        return item.studentId === Number(student) && (quiz ? item.quizId === quiz : item.lessonId === lesson);
      });
      list.textContent = "";
      mine.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "outbox-item " + item.state;
        li.setAttribute("data-client", item.clientId);
        li.textContent = item.quizId ? "" : item.body.slice(0, 60) + (item.photos.length ? " · " + item.photos.length + " ▣ " : " ");
        li.appendChild(stateOf(item, list));
        list.appendChild(li);
      });
      list.hidden = mine.length === 0;
    });
  }

  // The family page (/me/family): a parent's 已阅 and message go into the same outbox (issue 18, "delivered with the
  // next classroom visit"); each sign's state shows on its card, each message's (as typed) under the message form.
  var familyList = document.getElementById("family-outbox");

  function showFamily() {
    if (!familyList) return Promise.resolve();
    return store.items().then(function (all) {
      var mine = all.filter(function (item) { return item.studentId === Number(student) && item.family; });
      familyList.textContent = "";
      Array.prototype.forEach.call(document.querySelectorAll(".family-state"), function (el) { el.remove(); });
      mine.forEach(function (item) {
        var line = document.createElement(item.family.sign ? "p" : "li");
        var card = item.family.sign && document.getElementById(item.family.sign);
        line.className = "outbox-item family-state " + item.state;
        line.setAttribute("data-client", item.clientId);
        if (!item.family.sign) line.textContent = item.body.slice(0, 60) + " ";
        line.appendChild(stateOf(item, familyList));
        if (!item.family.sign) familyList.appendChild(line);
        else if (card) {
          var button = card.querySelector("form button");
          if (button) { // signed on this phone: "已阅 · 等待发送" in place of the button, not signed twice
            button.hidden = item.state !== "refused";
            line.insertBefore(document.createTextNode(button.textContent + " · "), line.firstChild);
          }
          card.appendChild(line);
        }
      });
      familyList.hidden = !familyList.children.length;
    });
  }

  function sendAll() {
    return store.flush().then(function () { return Promise.all([show(), showFamily()]); });
  }

  function sendSoon() {
    if (worker) navigator.serviceWorker.ready.then(function (r) { if (r.sync) r.sync.register("tpkit-outbox"); });
    return sendAll();
  }

  /* Resolves the item of `clientId` once delivered now, else undefined (the kit did not answer: it waits). */
  function deliveredNow(clientId) {
    return store.items().then(function (all) {
      return all.filter(function (i) { return i.clientId === clientId && i.state === "delivered"; })[0];
    });
  }

  function queueFamily(form) {
    var signing = !!form.elements.what, fields = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf" && name !== "client_id") fields.push([name, value]);
    });
    // A sign keeps the page's id (one sign per thing anyway); each message gets its own: a page kept for home is
    // drawn once, so every message written on it would carry the same id and arrive as one.
    var item = { clientId: signing ? form.elements.client_id.value : store.newId(), studentId: Number(student),
      madeAt: new Date().toISOString(), state: "waiting", message: "", photos: [],
      family: { url: form.getAttribute("action"), fields: fields,
        sign: signing ? form.elements.what.value + "-" + form.elements.id.value : "" } };
    if (!signing) item.body = form.elements.body.value;
    return store.queue(item).then(function () {
      if (!signing) form.elements.body.value = ""; // kept in the outbox, shown under the form until delivered
      return sendSoon();
    }).then(function () { return deliveredNow(item.clientId); }).then(function (sent) {
      if (sent) location.href = sent.at;
    });
  }

  if (familyList) {
    store.pass(student).then(function (pass) {
      if (!pass) return;
      Array.prototype.forEach.call(document.querySelectorAll('form[action^="/me/family/"]'), function (form) {
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          queueFamily(form);
        });
      });
    });
  }

  if (handIn) {
    store.pass(student).then(function (pass) {
      if (!pass) return;
      handIn.addEventListener("submit", function (event) {
        event.preventDefault();
        var item = { clientId: store.newId(), studentId: Number(student), madeAt: new Date().toISOString(),
          state: "waiting", message: "", photos: [] };
        if (handIn.elements.body) {
          item.lessonId = Number(list.getAttribute("data-lesson"));
          item.body = handIn.elements.body.value;
          item.photos = Array.prototype.slice.call(handIn.elements.photos.files || []);
        } else {
          item.quizId = Number(list.getAttribute("data-quiz"));
          item.answers = [];
          new FormData(handIn).forEach(function (value, name) {
            if (/^a\d+$/.test(name)) item.answers.push([name, value]);
          });
        }
        store.queue(item).then(function () {
          handIn.reset();
          return sendSoon();
        }).then(function () {
          return deliveredNow(item.clientId);
        }).then(function (sent) {
          if (!sent) return; // the kit did not answer: it waits
          location.href = item.quizId ? sent.at : "/me/lessons/" + item.lessonId + "?notice=handed_in";
        });
      });
    });
  }
  // A family phone: whose kept pages it shows (/me/phone), and the way there from My space when it keeps two.
  var children = document.getElementById("phone-children"), switcher = document.getElementById("phone-switch");
  store.run("passes", "readonly", function (s) { return s.getAll(); }).then(function (passes) {
    if (switcher) switcher.hidden = passes.length < 2;
    if (!children) return;
    document.getElementById("phone-children-help").textContent = children.getAttribute("data-help");
    passes.forEach(function (pass) {
      var li = document.createElement("li"), button = document.createElement("button");
      button.type = "button";
      button.textContent = pass.name;
      button.setAttribute("data-student", pass.studentId);
      button.addEventListener("click", function () {
        store.setCurrent(pass.studentId).then(function () { location.href = "/me"; });
      });
      li.appendChild(button);
      children.appendChild(li);
    });
  });

  // A quiz started away from the kit: its questions kept for the phone (/me/quizzes/<id>/offline) instead.
  if (quizStart) {
    store.pass(student).then(function (pass) {
      if (!pass) return;
      quizStart.addEventListener("submit", function (event) {
        event.preventDefault();
        fetch(quizStart.action, { method: "POST", body: new FormData(quizStart), credentials: "same-origin" })
          .then(function (r) { location.href = r.url; }, function () {
            location.href = quizStart.action.replace(/\/start$/, "/offline");
          });
      });
    });
  }
  show();
  showFamily();
  sendAll();
  window.addEventListener("online", sendAll);
  setInterval(sendAll, SEND_EVERY_MS);

  // Sign-out: the kit ends this phone's pass (when it answers), and the child's pass, pages and queue leave the phone.
  var signOut = document.querySelector('form[action="/admin/signout"]');
  if (signOut) {
    signOut.addEventListener("submit", function (event) {
      event.preventDefault();
      store.pass(student).then(function (pass) {
        if (!pass) return;
        return fetch("/me/phone/sign-out", { method: "POST", headers: { Authorization: "Bearer " + pass.token } })
          .catch(function () { /* offline: the teacher can end it from the class page */ });
      }).then(function () { return store.forget(student); }).catch(function () {}).then(function () {
        signOut.submit();
      });
    });
  }
})();
