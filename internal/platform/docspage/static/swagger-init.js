// Starts Swagger UI on /docs. The page passes its configuration as JSON in
// <script id="docs-config" type="application/json">, so no inline script is needed and the
// Content-Security-Policy can allow scripts from 'self' only.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("docs-config").textContent);
  window.ui = SwaggerUIBundle({
    urls: cfg.urls,
    "urls.primaryName": cfg.primaryName,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
})();
