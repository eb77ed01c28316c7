/**
 * Multi-tenant and security helpers: per-tenant directories, authenticated encryption, API-key
 * auth, rate limiting and request validation for web functions.
 *
 * @example
 * import { requireApiKey, rateLimit, validateBody, ensureTenantDir } from "nodal";
 * web.use(requireApiKey(), rateLimit(), express.json());
 * web.post("/notes", validateBody(Note), async (req, res) => {
 *   const dir = await ensureTenantDir(data, res.locals.apiKeyId);
 *   // …
 * });
 */
export { tenantPath, ensureTenantDir } from "./tenant.js";
export type { TenantVolume } from "./tenant.js";
export { encryptJSON, decryptJSON, DecryptionError } from "./encryption.js";
export { generateKey } from "./key.js";
export type { EncryptionKey } from "./key.js";
export { requireApiKey } from "./require-api-key.js";
export type { RequireApiKeyParams } from "./require-api-key.js";
export type { ApiKeySource } from "./api-keys.js";
export { rateLimit } from "./rate-limit.js";
export type { RateLimitParams } from "./rate-limit.js";
export { validateBody } from "./validate-body.js";
export type { SafeParseSchema, SchemaIssue, FieldError } from "./validate-body.js";
export type { SecurityMiddleware, SecurityRequest, SecurityResponse } from "./http.js";
