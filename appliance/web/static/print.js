// The cards page's print button: shown only when this script runs (else the browser's own Print menu does it).
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
