// With JavaScript, keypad taps type into the PIN box without a round trip over the crowded Wi-Fi;
// without it, each tap is a form post (web/learn_routes.py). OK always posts.
document.querySelectorAll(".keys button").forEach(function (key) {
  if (key.value === "go") return;
  key.addEventListener("click", function (event) {
    var pin = document.querySelector("input.pin");
    event.preventDefault();
    if (key.value === "back") pin.value = pin.value.slice(0, -1);
    else if (pin.value.length < 6) pin.value += key.value;
  });
});
