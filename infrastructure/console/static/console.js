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

  // Live updates (server-sent events from {base}/live over the session cookie).
  // The page says what it follows with data attributes; nothing here knows a page:
  // * data-live-env="ENV" (or "*": every environment the user sees) opens the stream;
  // * data-live-entry="AREA/KEY" data-live-version="N": a change of that entry past
  //   version N reveals #live-notice and marks the element data-stale="true";
  // * data-live-refresh (with hx-get and hx-trigger="live"): refreshed on a change of
  //   its environment (data-live-refresh-env="ENV" narrows it on a "*" page).
  const REFRESH_DELAY_MS = 250;  // a burst of changes refreshes a list once
  const pendingRefresh = new Set();
  let refreshTimer = null;

  function consoleBase() {
    const meta = document.querySelector('meta[name="console-base"]');
    return meta ? meta.getAttribute("content") : "/ui";
  }

  function noteEntryChange(change) {
    const name = change.area + "/" + change.key;
    document.querySelectorAll("[data-live-entry]").forEach(function (el) {
      const loaded = parseInt(el.getAttribute("data-live-version") || "0", 10);
      if (el.getAttribute("data-live-entry") !== name || !(change.version > loaded)) {
        return;
      }
      el.setAttribute("data-stale", "true");
      const notice = document.getElementById("live-notice");
      if (notice) {
        // textContent: the names come from the server but are never parsed as HTML.
        notice.textContent = name + " changed elsewhere to version " + change.version +
          " by " + change.actor + ": reload to see it";
        notice.hidden = false;
      }
    });
  }

  function queueRefresh(change) {
    document.querySelectorAll("[data-live-refresh]").forEach(function (el) {
      const only = el.getAttribute("data-live-refresh-env");
      if (!only || only === change.environment) {
        pendingRefresh.add(el);
      }
    });
    if (refreshTimer === null && pendingRefresh.size > 0) {
      refreshTimer = window.setTimeout(function () {
        refreshTimer = null;
        const targets = Array.from(pendingRefresh);
        pendingRefresh.clear();
        targets.forEach(function (el) {
          if (el.isConnected && window.htmx) {
            window.htmx.trigger(el, "live");
          }
        });
      }, REFRESH_DELAY_MS);
    }
  }

  function startLive() {
    const holder = document.querySelector("[data-live-env]");
    if (!holder || !window.EventSource) {
      return;
    }
    const env = holder.getAttribute("data-live-env") || "";
    const url = consoleBase() + "/live?env=" + encodeURIComponent(env);
    const source = new EventSource(url);
    document.documentElement.setAttribute("data-live", "connecting");
    source.addEventListener("open", function () {
      document.documentElement.setAttribute("data-live", "open");
    });
    source.addEventListener("change", function (event) {
      let change;
      try {
        change = JSON.parse(event.data);
      } catch (ignored) {
        return;
      }
      noteEntryChange(change);
      queueRefresh(change);
    });
    source.addEventListener("error", function () {
      // CLOSED: the session ended or the page may no longer follow the environment.
      if (source.readyState === EventSource.CLOSED) {
        document.documentElement.setAttribute("data-live", "closed");
      }
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startLive);
  } else {
    startLive();
  }
})();
