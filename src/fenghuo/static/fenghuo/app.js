/* Behaviour every page shares, wired by data- attributes: the Content-Security-Policy
   allows no inline script, no on* attributes and no hx-on (htmx's eval is off). */
(function () {
  "use strict";
  // <select data-submit-on-change>: choosing an option submits its form.
  document.addEventListener("change", function (event) {
    const field = event.target.closest && event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit();
  });
  // data-swap-422: show the server's field errors (422) in place instead of dropping them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const elt = event.detail.elt;
    if (event.detail.xhr.status === 422 && elt.closest && elt.closest("[data-swap-422]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // data-refresh-after="#panel": after this element's request, refresh that panel.
  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt.closest && event.detail.elt.closest("[data-refresh-after]");
    if (elt && window.htmx) window.htmx.trigger(elt.dataset.refreshAfter, "refresh");
  });
})();
