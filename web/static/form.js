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
  // A form is sent once: its buttons are disabled as it goes, so a second click (or Enter,
  // whose implicit submission needs an enabled button) sends nothing more. The server copes
  // with a double submit too.
  var buttons = document.querySelectorAll("form button");
  function enable(on) {
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = !on;
  }
  var forms = document.querySelectorAll("form");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function () {
      setTimeout(function () { enable(false); }, 0);
    });
  }
  // Coming back to the page from the history must allow sending it again.
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted) enable(true);
  });
})();
