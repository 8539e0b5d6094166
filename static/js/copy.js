// Copy buttons: <button data-copy="ID"> copies the text of #ID.
(function () {
  "use strict";
  if (window.gatehouseCopy) return;
  window.gatehouseCopy = true;
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = old; }, 2000);
    });
  });
})();
