// radassure oversight page: one-key decisions and reading time, measured in the browser.
// Progressive enhancement only: without this script the form posts as it is and the
// server measures the time from its own signed shown-at stamp.
(function () {
  "use strict";
  var form = document.querySelector("form[data-oversight]");
  if (!form) {
    return;
  }
  var shown = performance.now();
  var taken = form.querySelector("input[name=seconds_taken]");
  var comment = form.querySelector("textarea[name=comment]");
  var sending = false;

  // The study counts as shown when the page is, including a return through history.
  window.addEventListener("pageshow", function () {
    shown = performance.now();
    sending = false;
  });

  form.addEventListener("submit", function (event) {
    if (sending) {
      event.preventDefault(); // one decision per study: a double key press sends once
      return;
    }
    sending = true;
    taken.value = ((performance.now() - shown) / 1000).toFixed(3);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) {
      return;
    }
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" ||
      target.tagName === "SELECT" || target.isContentEditable);
    if (typing) {
      return; // letters typed into the comment are text, not decisions
    }
    var key = event.key.toLowerCase();
    var button = form.querySelector("button[data-key='" + key + "']");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (key === "o" && comment && !comment.value.trim()) {
      comment.focus(); // "other" needs a reason in words; then press the button
      return;
    }
    if (form.requestSubmit) {
      form.requestSubmit(button);
    } else {
      button.click();
    }
  });
})();
