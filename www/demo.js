// Demo page only: shows the site configuration the server holds for this site (what the widget
// is given), built with DOM APIs and textContent (no HTML strings).
(function () {
  "use strict";
  var target = document.getElementById("site-config");
  if (!target) return;
  fetch("/api/sites/demo").then(function (r) { return r.ok ? r.json() : null; }).then(function (c) {
    if (!c) return;
    var rows = [
      ["Site", c.site], ["Name", c.name], ["Colour", c.color], ["Position", c.position],
      ["Languages", (c.languages || []).join(", ")],
      ["Pre-chat fields", [c.prechat_name ? "name" : "", c.prechat_email ? "email" : ""].filter(Boolean).join(", ") || "none"],
    ];
    Object.keys(c.greeting || {}).forEach(function (lang) { rows.push(["Greeting (" + lang + ")", c.greeting[lang]]); });
    var dl = document.createElement("dl");
    rows.forEach(function (row) {
      var dt = document.createElement("dt"); dt.textContent = row[0];
      var dd = document.createElement("dd"); dd.textContent = row[1];
      dl.appendChild(dt); dl.appendChild(dd);
    });
    target.appendChild(dl);
  });
})();
