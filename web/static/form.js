// Progressive enhancement only: the pages work without JavaScript.
(function () {
  // "Show passwords" toggles the new-password fields between hidden and visible text.
  var box = document.querySelector("[data-show-password]");
  if (box) {
    var toggle = box.querySelector("input");
    var fields = document.querySelectorAll("input[autocomplete=new-password]");
    box.hidden = false;
    toggle.addEventListener("change", function () {
      for (var i = 0; i < fields.length; i++) fields[i].type = toggle.checked ? "text" : "password";
    });
  }
  // A form is sent once: a second click while the first submission is on its way is
  // ignored, and the button says so. (The server copes with a double submit too.)
  var forms = document.querySelectorAll("form");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function (ev) {
      var form = ev.currentTarget;
      if (form.dataset.sent) {
        ev.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      var buttons = form.querySelectorAll("button[type=submit], button:not([type])");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].setAttribute("aria-disabled", "true");
        buttons[j].classList.add("sending");
      }
    });
  }
  // Coming back to the page from the history must allow sending it again.
  window.addEventListener("pageshow", function (ev) {
    if (!ev.persisted) return;
    for (var i = 0; i < forms.length; i++) delete forms[i].dataset.sent;
  });
})();
