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
  // The same folding as the server's (diwan_domain::search::normalise_for_search), in short.
  function fold(text) {
    return text.normalize("NFKD").toLowerCase()
      .replace(/[\u0640\u06d6-\u06ed\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\p{M}/gu, "")
      .replace(/[ٱٲٳٵ]/g, "ا").replace(/[ىی]/g, "ي").replace(/ة/g, "ه").replace(/ک/g, "ك")
      .replace(/œ/g, "oe").replace(/æ/g, "ae").replace(/ß/g, "ss")
      .replace(/[٠-٩]/g, function (d) { return String(d.charCodeAt(0) - 0x660); })
      .replace(/[۰-۹]/g, function (d) { return String(d.charCodeAt(0) - 0x6f0); })
      .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
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
