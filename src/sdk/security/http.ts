/**
 * The little HTTP vocabulary the security middlewares share. They are typed against Node's own
 * request and response, plus the few fields express adds, so they work in an express app and
 * in a plain `(req, res)` listener alike, and nodal never loads express itself.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** A request as the middlewares see it: Node's, plus the fields express may add. */
export type SecurityRequest = IncomingMessage & {
  /** Set by express (`req.ip`, honouring `trust proxy`). */
  ip?: string;
  /** Set by `express.json()`. */
  body?: unknown;
  /** Set by `requireApiKey()` once the Bearer token matched a configured key. */
  apiKey?: string;
};

/** A response as the middlewares see it: Node's, plus express's `res.locals`. */
export type SecurityResponse = ServerResponse & { locals?: Record<string, unknown> };

/** Express's `next`: call with nothing to continue, with an error to fail the request. */
export type NextFunction = (error?: unknown) => void;

/** A connect/express middleware. */
export type SecurityMiddleware = (req: SecurityRequest, res: SecurityResponse, next: NextFunction) => void;

// Let `req.apiKey` type-check in express handlers; passport augments `Express.User` the same way.
// The namespace merges with @types/express when present and is inert otherwise.
declare global {
  namespace Express {
    interface Request {
      /** The API key that `requireApiKey()` accepted. */
      apiKey?: string;
    }
  }
}

/** Ends the response with a JSON body (with plain Node methods, so no express is needed). */
export function sendJSON(
  res: SecurityResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(payload));
  res.end(payload);
}

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when there is none
 * (no header, another scheme, an empty token). The scheme name is case-insensitive
 * (RFC 7235 §2.1).
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

/** The locals bag of a response, created on a plain Node response that has none. */
export function localsOf(res: SecurityResponse): Record<string, unknown> {
  res.locals ??= {};
  return res.locals;
}
