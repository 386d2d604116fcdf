// R7 while the page stays open: a reply form drawn before its consultation's deadline carries
// the "cause of lateness" field hidden and disabled; at the deadline it is shown and required
// (the server asks for it anyway: a late reply without a cause is refused).
(function () {
  "use strict";
  var LONGEST_WAIT = 60000; // look again at least every minute (a sleeping laptop's timers drift)

  function reveal(form) {
    var cause = form.querySelector("fieldset.late-cause");
    if (!cause || !cause.hidden) return;
    cause.hidden = false;
    cause.disabled = false;
    var badge = form.closest("article") && form.closest("article").querySelector("[data-status-badge]");
    if (badge && form.dataset.lateLabel) {
      badge.textContent = form.dataset.lateLabel;
      badge.className = "badge late";
    }
    form.closest("article").classList.add("overdue");
  }

  function watch(form) {
    var deadline = Date.parse(form.dataset.deadline);
    if (isNaN(deadline)) return;
    (function check() {
      var left = deadline - Date.now();
      if (left < 0) {
        reveal(form);
      } else {
        window.setTimeout(check, Math.min(left + 50, LONGEST_WAIT));
      }
    })();
  }

  document.querySelectorAll("form[data-deadline]").forEach(watch);
})();
