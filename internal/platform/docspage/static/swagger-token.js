// Lets Swagger UI's "Authorize" dialog take an access token pasted as it is.
//
// The specs' `bearer` scheme is OAuth 2.0 with a client-credentials flow (its scopes document the
// permission each operation needs), and for that Swagger UI offers a client id and secret only.
// This plugin changes what Swagger UI shows, and nothing else: the documents served at
// /<service>/v1/openapi.json, which generated clients and the authorization middleware use, stay
// as they are. Swagger UI gets a view of each spec with one more security scheme, `http` bearer,
// named by the page's configuration (tokenScheme.name), and wherever a security requirement names
// an OAuth 2.0 or OpenID Connect scheme, an alternative requirement naming the new scheme in its
// place. A token pasted for it is sent as `Authorization: Bearer <token>` by every operation that
// needs a token; operations with `security: []` stay open.
//
// addTokenScheme is a pure function (tested by the docspage Go tests and the node suite); the
// plugin applies it to each spec Swagger UI loads, before Swagger UI resolves it.
(function (root) {
  "use strict";

  var methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  // requirementKey identifies a requirement object whatever the order of its members.
  function requirementKey(r) {
    return JSON.stringify(
      Object.keys(r)
        .sort()
        .map(function (k) {
          return [k, r[k]];
        })
    );
  }

  // withAlternatives returns requirements followed by, for each one that names a token scheme, the
  // same requirement with every token scheme replaced by `name` (no scopes), unless listed already.
  function withAlternatives(requirements, tokenSchemes, name) {
    if (!Array.isArray(requirements)) {
      return requirements;
    }
    var out = requirements.slice();
    var seen = {};
    requirements.forEach(function (r) {
      if (isObject(r)) {
        seen[requirementKey(r)] = true;
      }
    });
    requirements.forEach(function (r) {
      if (!isObject(r)) {
        return;
      }
      var alt = {};
      var replaced = false;
      Object.keys(r).forEach(function (k) {
        if (tokenSchemes.hasOwnProperty(k)) {
          replaced = true;
          alt[name] = [];
        } else {
          alt[k] = r[k];
        }
      });
      var key = requirementKey(alt);
      if (replaced && !seen[key]) {
        seen[key] = true;
        out.push(alt);
      }
    });
    return out;
  }

  // addTokenScheme returns a copy of an OpenAPI 3 document with the scheme described by
  // {name, description} added as above, or the document itself when it is not OpenAPI 3, has no
  // OAuth 2.0 or OpenID Connect scheme, or already has a scheme by that name.
  function addTokenScheme(spec, scheme) {
    if (!isObject(spec) || typeof spec.openapi !== "string" || !/^3\./.test(spec.openapi)) {
      return spec;
    }
    if (!isObject(scheme) || typeof scheme.name !== "string" || scheme.name === "") {
      return spec;
    }
    var schemes = isObject(spec.components) && isObject(spec.components.securitySchemes) ? spec.components.securitySchemes : {};
    if (schemes.hasOwnProperty(scheme.name)) {
      return spec;
    }
    var tokenSchemes = {};
    Object.keys(schemes).forEach(function (k) {
      var s = schemes[k];
      if (isObject(s) && (s.type === "oauth2" || s.type === "openIdConnect")) {
        tokenSchemes[k] = true;
      }
    });
    if (Object.keys(tokenSchemes).length === 0) {
      return spec;
    }

    var out = JSON.parse(JSON.stringify(spec));
    var added = { type: "http", scheme: "bearer", bearerFormat: "JWT" };
    if (typeof scheme.description === "string" && scheme.description !== "") {
      added.description = scheme.description;
    }
    out.components.securitySchemes[scheme.name] = added;
    if (out.hasOwnProperty("security")) {
      out.security = withAlternatives(out.security, tokenSchemes, scheme.name);
    }
    if (isObject(out.paths)) {
      Object.keys(out.paths).forEach(function (p) {
        var item = out.paths[p];
        if (!isObject(item)) {
          return;
        }
        methods.forEach(function (m) {
          var op = item[m];
          if (isObject(op) && op.hasOwnProperty("security")) {
            op.security = withAlternatives(op.security, tokenSchemes, scheme.name);
          }
        });
      });
    }
    return out;
  }

  // tokenSchemePlugin is a Swagger UI plugin applying addTokenScheme to every spec it loads
  // (updateJsonSpec receives the parsed document before Swagger UI resolves and renders it).
  function tokenSchemePlugin(scheme) {
    return function () {
      return {
        statePlugins: {
          spec: {
            wrapActions: {
              updateJsonSpec: function (original) {
                return function (json) {
                  var args = Array.prototype.slice.call(arguments);
                  args[0] = addTokenScheme(json, scheme);
                  return original.apply(null, args);
                };
              },
            },
          },
        },
      };
    };
  }

  root.SaasDocs = { addTokenScheme: addTokenScheme, tokenSchemePlugin: tokenSchemePlugin };
})(typeof window !== "undefined" ? window : globalThis);
