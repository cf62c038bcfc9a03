// The on-screen keypad types into the answer field; everything else works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var entry = document.getElementById("entry");
  document.querySelectorAll(".keypad .key").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!entry) { return; }
      entry.value += button.getAttribute("data-key");
      entry.focus();
    });
  });
});
