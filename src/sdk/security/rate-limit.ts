import type * as ExpressRateLimit from "express-rate-limit";
import type { Options } from "express-rate-limit";
import { lazy } from "../../lazy.js";
import { InvalidError } from "../errors.js";
import { apiKeyId, keyReader, matchKey, type ApiKeySource } from "./api-keys.js";
import { bearerToken, sendJSON, type SecurityMiddleware, type SecurityRequest, type SecurityResponse } from "./http.js";

const erl = lazy(() => require("express-rate-limit") as typeof ExpressRateLimit);

/** Parameters of `rateLimit`. */
export interface RateLimitParams extends ApiKeySource {
  /** The window in milliseconds (default 60 000). */
  windowMs?: number;
  /** Requests allowed per client and window (default 60). */
  limit?: number;
  /** Your own bucket for a request (a user id, a tenant…), instead of API key or IP. */
  key?: (req: SecurityRequest) => string;
}

/**
 * Express middleware that limits each client to `limit` requests per `windowMs`, built on
 * express-rate-limit (in memory, per worker). A client is its API key when the request carries
 * a known one (after `requireApiKey()`, or a Bearer token among `keys` / `API_KEYS`), keyed by
 * the key's sha256 id, never the key itself; otherwise its IP (IPv6 grouped by /56 subnet).
 * Over the limit: 429 `{ "error": "rate limit exceeded", "retryAfter": SECONDS }` with a
 * `Retry-After` header; every response carries the IETF draft-7 `RateLimit` and
 * `RateLimit-Policy` headers.
 *
 * @example
 * web.use(requireApiKey(), rateLimit({ limit: 100, windowMs: 60_000 }));
 */
export function rateLimit(params: RateLimitParams = {}): SecurityMiddleware {
  const { windowMs = 60_000, limit = 60, key } = params;
  // setInterval (the memory store's reset timer) overflows past 2^31-1 ms.
  if (typeof windowMs !== "number" || !Number.isInteger(windowMs) || windowMs < 1 || windowMs > 2 ** 31 - 1) {
    throw new InvalidError(`rateLimit: windowMs must be an integer from 1 to ${2 ** 31 - 1} (got ${String(windowMs)})`);
  }
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new InvalidError(`rateLimit: limit must be an integer of at least 1 (got ${String(limit)})`);
  }
  if (key !== undefined && typeof key !== "function") {
    throw new InvalidError("rateLimit: key must be a function (req) => string");
  }
  const readKeys = keyReader(params, "rateLimit");

  const bucketOf = (req: SecurityRequest, res: SecurityResponse): string => {
    if (key) return `custom:${key(req)}`;
    const verified = res.locals?.apiKeyId;
    if (typeof verified === "string") return `apikey:${verified}`;
    const token = bearerToken(req);
    // Only a known key gets its own bucket: if any token did, each made-up token would buy a
    // fresh allowance and the limiter would not slow down someone guessing keys.
    if (token !== undefined && matchKey(token, readKeys().keys) !== undefined) return `apikey:${apiKeyId(token)}`;
    // express sets req.ip (honouring `trust proxy`); a plain Node listener has only the socket.
    const ip = req.ip ?? req.socket.remoteAddress ?? "unknown";
    return `ip:${erl().ipKeyGenerator(ip)}`;
  };

  const options: Partial<Options> = {
    windowMs,
    limit,
    standardHeaders: "draft-7", // draft-8 needs express's res.append; draft-7 works on plain Node too
    legacyHeaders: false,
    keyGenerator: (req, res) => bucketOf(req as SecurityRequest, res as unknown as SecurityResponse),
    handler: (_req, res) => {
      const response = res as unknown as SecurityResponse;
      // The library has set Retry-After from the bucket's reset time; keep body and header equal.
      const retryAfter = Math.max(1, Number(response.getHeader("Retry-After")) || Math.ceil(windowMs / 1000));
      sendJSON(response, 429, { error: "rate limit exceeded", retryAfter }, { "Retry-After": String(retryAfter) });
    },
  };
  return erl().rateLimit(options) as unknown as SecurityMiddleware;
}
