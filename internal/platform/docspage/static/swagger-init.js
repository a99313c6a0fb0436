// Starts Swagger UI on /docs. The page passes its configuration as JSON in
// <script id="docs-config" type="application/json">, so no inline script is needed and the
// Content-Security-Policy can allow scripts from 'self' only. With cfg.tokenScheme, the
// swagger-token.js plugin (loaded before this file) lets "Authorize" take a pasted access token.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("docs-config").textContent);
  var plugins = [SwaggerUIBundle.plugins.DownloadUrl];
  if (cfg.tokenScheme) {
    plugins.push(SaasDocs.tokenSchemePlugin(cfg.tokenScheme));
  }
  window.ui = SwaggerUIBundle({
    urls: cfg.urls,
    "urls.primaryName": cfg.primaryName,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: plugins,
    layout: "StandaloneLayout",
  });
})();
