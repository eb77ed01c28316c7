import { InvalidError } from "../errors.js";
import { sendJSON, type SecurityMiddleware } from "./http.js";

/** One problem found by a schema, as zod reports it. */
export interface SchemaIssue {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * Any schema with zod's `safeParse` (zod 3 and 4, valibot adapters…); described by shape so
 * nodal never imports zod itself.
 */
export interface SafeParseSchema<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/** One entry of the 400 response's `fields`: `path` is dotted (`"items.0.name"`, `""` for the body itself). */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Express middleware that checks `req.body` against a schema: a bad body is a 400
 * `{ "error": "invalid request body", "fields": [{ "path": "a.b", "message": "…" }] }`, a good
 * one replaces `req.body` with the parsed data (defaults applied, unknown keys stripped as the
 * schema says). Put `express.json()` before it; with no parsed body (none sent, or not JSON)
 * the answer is 400 `{ "error": "expected a JSON body" }`.
 *
 * @example
 * const Todo = z.object({ title: z.string().min(1), done: z.boolean().default(false) });
 * web.post("/todos", express.json(), validateBody(Todo), (req, res) => res.status(201).json(req.body));
 */
export function validateBody<T>(schema: SafeParseSchema<T>): SecurityMiddleware {
  if (!schema || typeof schema.safeParse !== "function") {
    throw new InvalidError("validateBody: schema must have a safeParse method (for example a zod schema)");
  }
  return (req, res, next) => {
    // Express 5 leaves req.body undefined when no body parser ran or the Content-Type did not match.
    if (req.body === undefined) {
      sendJSON(res, 400, { error: "expected a JSON body" });
      return;
    }
    let result: ReturnType<SafeParseSchema<T>["safeParse"]>;
    try {
      result = schema.safeParse(req.body);
    } catch (error) {
      // e.g. zod's "use parseAsync" for async refinements: a server bug, not a bad request.
      next(error);
      return;
    }
    if (!result.success) {
      sendJSON(res, 400, { error: "invalid request body", fields: result.error.issues.map(toFieldError) });
      return;
    }
    req.body = result.data;
    next();
  };
}

function toFieldError(issue: SchemaIssue): FieldError {
  const path = issue.path.map((part) => (typeof part === "symbol" ? (part.description ?? "") : String(part)));
  return { path: path.join("."), message: issue.message };
}
