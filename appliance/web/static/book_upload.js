// The 内容 page's "send a book from this computer" (web/shelf_routes.py): the file goes in chunks; after a dropped
// Wi-Fi, a closed lid or a kit restart, choosing the same file again resumes where the kit's copy ends.
(function () {
  "use strict";
  var box = document.getElementById("upload");
  if (!box || !window.fetch || !window.File || !window.Blob || !Blob.prototype.slice) return;
  box.hidden = false;
  var input = document.getElementById("upload-file");
  var button = document.getElementById("upload-send");
  var bar = box.querySelector("progress");
  var state = document.getElementById("upload-state");
  var chunk = parseInt(box.getAttribute("data-chunk"), 10);
  var words = function (name) { return box.getAttribute("data-" + name); };

  function hex32(text, seed) {  // FNV-1a: a name for the file, not a secret (crypto.subtle needs HTTPS)
    var h = seed >>> 0;
    for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
    return ("0000000" + h.toString(16)).slice(-8);
  }
  function idOf(file) {
    var key = file.name + "|" + file.size + "|" + file.lastModified;
    return hex32(key, 2166136261) + hex32(key, 84696351) + hex32(key, 3735928559);
  }
  function show(text, percent) {
    state.textContent = text;
    if (percent !== undefined) { bar.hidden = false; bar.value = percent; }
  }
  function wait(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }
  function ask(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    return fetch(url, options).then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); });
  }

  async function send(file) {
    var url = "/books/uploads/" + idOf(file);
    var total = file.size, at = null;
    button.disabled = true;
    for (;;) {
      try {
        if (at === null) at = (await ask(url + "?total=" + total))[1].received;
        var end = Math.min(at + chunk, total);
        var range = end > at ? "bytes " + at + "-" + (end - 1) + "/" + total : "bytes */" + total;
        show(words("sending"), Math.floor((at * 100) / total));
        var answer = await ask(url, {
          method: "PUT",
          body: file.slice(at, end),
          headers: { "Content-Range": range, "X-CSRF-Token": box.getAttribute("data-csrf"),
                     "X-File-Name": encodeURIComponent(file.name) },
        });
        var status = answer[0], said = answer[1];
        if (status === 409 && said.received !== undefined) { at = said.received; continue; }
        if (status === 503) { show(said.text); await wait(10000); at = null; continue; }
        if (status !== 200) { show(said.text); button.disabled = false; return; }
        at = said.received;
        if (said.done) { show(said.text, 100); button.disabled = false; return; }
      } catch (e) {  // the Wi-Fi dropped, or the kit restarted: ask again where its copy ends
        show(words("retrying"));
        await wait(3000);
        at = null;
      }
    }
  }

  button.addEventListener("click", function () {
    if (input.files && input.files[0]) send(input.files[0]); else show(words("choose"));
  });
})();
