// The console's own script (no inline script anywhere: the CSP forbids it).
"use strict";

(function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the session's CSRF token; the server refuses a
  // POST/PUT/PATCH/DELETE without it.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // htmx leaves most error answers unswapped: say that the request failed.
  document.addEventListener("htmx:responseError", function (event) {
    const flash = document.getElementById("console-flash");
    if (!flash) {
      return;
    }
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    flash.textContent = status === 403
      ? "Not allowed (403): reload the page and try again."
      : "The request failed (" + status + ").";
    flash.classList.add("flash-visible");
  });
  document.addEventListener("htmx:sendError", function () {
    const flash = document.getElementById("console-flash");
    if (flash) {
      flash.textContent = "The server could not be reached.";
      flash.classList.add("flash-visible");
    }
  });

  // <form data-confirm="Restore prod?">: ask before submitting (no inline onsubmit).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();
