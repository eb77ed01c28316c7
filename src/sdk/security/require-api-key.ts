import { apiKeyId, keyReader, matchKey, type ApiKeySource } from "./api-keys.js";
import { bearerToken, localsOf, sendJSON, type SecurityMiddleware } from "./http.js";

/** Parameters of `requireApiKey`. */
export type RequireApiKeyParams = ApiKeySource;

const REALM = 'Bearer realm="nodal"';

/**
 * Express middleware that lets a request through only with `Authorization: Bearer <key>` for
 * one of the configured keys: by default the comma-separated `API_KEYS` environment variable,
 * read on every request (set it with a secret: `nodal secret create api-keys API_KEYS=k1,k2`).
 *
 * - no or non-Bearer credentials: 401 `{ "error": "missing API key" }`
 * - a wrong key: 401 `{ "error": "invalid API key" }`, with `error="invalid_token"` in
 *   `WWW-Authenticate` (RFC 6750 §3)
 * - no keys configured at all: 500, so a forgotten secret fails closed instead of open
 *
 * On success `req.apiKey` is the key and `res.locals.apiKeyId` its public id (the first 12 hex
 * characters of its sha256), fit for logs and for `tenantPath`.
 *
 * @example
 * const web = express();
 * web.use(requireApiKey());
 * web.get("/me", (_req, res) => res.json({ tenant: res.locals.apiKeyId }));
 */
export function requireApiKey(params: RequireApiKeyParams = {}): SecurityMiddleware {
  const readKeys = keyReader(params, "requireApiKey");
  return (req, res, next) => {
    const { keys, fix } = readKeys();
    if (keys.length === 0) {
      sendJSON(res, 500, { error: `server has no API keys configured (${fix})` });
      return;
    }
    const token = bearerToken(req);
    if (token === undefined) {
      sendJSON(res, 401, { error: "missing API key" }, { "WWW-Authenticate": REALM });
      return;
    }
    const key = matchKey(token, keys);
    if (key === undefined) {
      sendJSON(res, 401, { error: "invalid API key" }, { "WWW-Authenticate": `${REALM}, error="invalid_token"` });
      return;
    }
    req.apiKey = key;
    localsOf(res).apiKeyId = apiKeyId(key);
    next();
  };
}
