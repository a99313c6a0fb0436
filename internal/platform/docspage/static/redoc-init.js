// Starts ReDoc on /redoc for the spec the page names in
// <script id="docs-config" type="application/json">. The fixed spec selector above it is
// ".docs-nav"; ReDoc offsets its sticky menu and scrolling by that element's height.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("docs-config").textContent);
  Redoc.init(
    cfg.url,
    { scrollYOffset: ".docs-nav", expandResponses: "200,201", hideHostname: true },
    document.getElementById("redoc")
  );
})();
