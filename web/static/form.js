// Progressive enhancement only: the pages work without JavaScript.
// "Show passwords" toggles the new-password fields between hidden and visible text.
(function () {
  var box = document.querySelector("[data-show-password]");
  if (!box) return;
  var toggle = box.querySelector("input");
  var fields = document.querySelectorAll("input[autocomplete=new-password]");
  box.hidden = false;
  toggle.addEventListener("change", function () {
    for (var i = 0; i < fields.length; i++) fields[i].type = toggle.checked ? "text" : "password";
  });
})();
