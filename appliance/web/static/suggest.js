// Title suggestions while typing. Progressive: without JavaScript the form still runs a full search.
(function () {
  var input = document.getElementById("q"), list = document.getElementById("suggest-list");
  if (!input || !list || !window.fetch) return;
  var timer = null, last = "";
  // /suggest escapes HTML in value, label and path as kiwix-serve 3.7 does; decode before use.
  function decode(s) { var t = document.createElement("textarea"); t.innerHTML = s || ""; return t.value; }
  function show(items) {
    list.innerHTML = "";
    items.forEach(function (item) {
      var li = document.createElement("li"), a = document.createElement("a"), book = document.createElement("small");
      a.href = item.url; a.textContent = item.title; book.textContent = item.book;
      a.appendChild(book); li.appendChild(a); list.appendChild(li);
    });
    list.hidden = items.length === 0;
  }
  function ask() {
    var term = input.value.trim();
    if (term === last) return;
    last = term;
    if (!term) { show([]); return; }
    var params = new URLSearchParams({term: term, count: "8"});
    document.querySelectorAll("form.search input[name='books.name']").forEach(function (el) {
      params.append("books.name", el.value);
    });
    fetch("/suggest?" + params.toString()).then(function (r) { return r.ok ? r.json() : []; }).then(function (data) {
      if (input.value.trim() !== term) return;
      show(data.filter(function (s) { return s.kind === "path"; }).map(function (s) {
        return {title: decode(s.value), book: s.book_title || "",
                url: "/content/" + encodeURIComponent(s.book || "") + "/" + decode(s.path).split("/").map(encodeURIComponent).join("/")};
      }));
    }).catch(function () { show([]); });
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 150); });
})();
