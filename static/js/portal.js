// Peak Portal: small progressive enhancements on top of htmx. Every page works without this file.
(function () {
  // Polls (hx-trigger="every ..."): while the portal answers 503 or cannot be reached, wait longer
  // between tries (Retry-After, then doubling up to a minute) and say so once, quietly; never a toast
  // per failed poll. The first good answer puts everything back.
  var MAX_BACKOFF_MS = 60000;
  var outageNotice = null;

  function isPoll(elt) {
    var trigger = elt && elt.getAttribute && elt.getAttribute("hx-trigger");
    return !!trigger && /(^|[\s,])every\s/.test(trigger);
  }

  function showOutage() {
    var toasts = document.getElementById("toasts");
    if (!toasts || outageNotice) return;
    outageNotice = document.createElement("div");
    outageNotice.className = "toast toast-info";
    outageNotice.setAttribute("role", "status");
    outageNotice.setAttribute("data-testid", "outage-notice");
    outageNotice.textContent = "The portal is back in a moment; this page carries on by itself.";
    toasts.appendChild(outageNotice);
  }

  function clearOutage() {
    if (outageNotice) { outageNotice.remove(); outageNotice = null; }
  }

  function backOff(elt, xhr) {
    var retryAfter = xhr ? parseInt(xhr.getResponseHeader("Retry-After") || "", 10) : NaN;
    var previous = parseInt(elt.dataset.portalBackoff || "0", 10);
    var next = Math.min(MAX_BACKOFF_MS, Math.max(previous * 2, isNaN(retryAfter) ? 2000 : retryAfter * 1000));
    elt.dataset.portalBackoff = String(next);
    elt.dataset.portalNotBefore = String(Date.now() + next);
    showOutage();
    // A one-off fetch that must happen (hx-trigger "load, portal:retry": a live log catching up) has no next
    // tick of its own: fire it again once the back-off is over, unless it has been replaced meanwhile.
    var trigger = elt.getAttribute && elt.getAttribute("hx-trigger");
    if (trigger && /(^|[\s,])portal:retry([\s,]|$)/.test(trigger)) {
      setTimeout(function () {
        if (document.body.contains(elt)) htmx.trigger(elt, "portal:retry");
      }, next);
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (isPoll(elt) && elt.dataset.portalNotBefore && Date.now() < parseInt(elt.dataset.portalNotBefore, 10)) {
      event.preventDefault();  // still backing off: skip this tick
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.successful && elt && elt.dataset) {
      delete elt.dataset.portalBackoff;
      delete elt.dataset.portalNotBefore;
      clearOutage();
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    // The server could not be reached at all: the same as a 503.
    backOff(event.detail.elt, null);
  });

  document.addEventListener("htmx:responseError", function (event) {
    // A 4xx/5xx that htmx did not swap: tell the person instead of failing silently.
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    if (xhr.status === 503 || (isPoll(elt) && xhr.status >= 500)) {
      backOff(elt, xhr);
      return;
    }
    var toasts = document.getElementById("toasts");
    if (!toasts) return;
    if (xhr.getResponseHeader("HX-Retarget") === "#toasts") {
      // A domain error: the server sent its own message partial (htmx does not swap 4xx by itself).
      toasts.insertAdjacentHTML("beforeend", xhr.responseText);
      return;
    }
    var toast = document.createElement("div");
    toast.className = "toast toast-error";
    toast.setAttribute("role", "alert");
    toast.textContent = xhr.status === 403 ? "Your role does not allow this." : "Something went wrong (" + xhr.status + "). Try again.";
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  });

  document.addEventListener("portal:queued", function (event) {
    // The action was recorded but the task queue is down: it starts by itself once the queue is back.
    var toasts = document.getElementById("toasts");
    if (!toasts) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-info";
    toast.setAttribute("role", "status");
    toast.textContent = (event.detail && event.detail.message) || "Queued: starts as soon as the task queue is reachable.";
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  });
})();

// No inline handlers (the Content-Security-Policy forbids them): dismiss buttons and "Go back" links.
document.addEventListener("click", function (event) {
  var dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) {
    dismiss.parentElement.remove();
    return;
  }
  var back = event.target.closest("[data-history-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
