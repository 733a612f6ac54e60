// Peak Portal: small progressive enhancements on top of htmx. Every page works without this file.
document.addEventListener("htmx:responseError", function (event) {
  // A 4xx/5xx that htmx did not swap: tell the person instead of failing silently.
  var xhr = event.detail.xhr;
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
