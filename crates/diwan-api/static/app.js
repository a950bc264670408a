// Small improvements for browsers with JavaScript; every journey works without it.
(function () {
  "use strict";

  // Lists the chosen files with their sizes before the form is sent.
  function formatSize(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MiB";
    if (bytes >= 1024) return Math.ceil(bytes / 1024) + " KiB";
    return bytes + " B";
  }
  document.querySelectorAll("input[type=file][data-size-list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-size-list"));
    if (!list) return;
    input.addEventListener("change", function () {
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var li = document.createElement("li");
        var name = document.createElement("bdi");
        name.textContent = file.name;
        li.appendChild(name);
        li.appendChild(document.createTextNode(" — " + formatSize(file.size)));
        list.appendChild(li);
      });
    });
  });

  // Filters a <select>'s options as the person types in the search box that names it.
  function fold(text) {
    return text.toLowerCase().normalize("NFD")
      .replace(/[\u0300-\u036f\u064b-\u065f\u0670\u0640]/g, "")
      .replace(/[أإآٱ]/g, "ا").replace(/ى/g, "ي").replace(/ة/g, "ه").trim();
  }
  document.querySelectorAll("input[data-filter]").forEach(function (box) {
    var select = document.getElementById(box.getAttribute("data-filter"));
    if (!select) return;
    box.addEventListener("input", function () {
      var needle = fold(box.value);
      Array.prototype.forEach.call(select.querySelectorAll("option[data-search]"), function (option) {
        var hay = option.getAttribute("data-search") + " " + fold(option.textContent);
        var show = needle === "" || hay.indexOf(needle) !== -1;
        option.hidden = !show;
        option.disabled = !show && !option.selected;
      });
    });
  });

  // Moves focus to the error summary so that screen readers announce it.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
