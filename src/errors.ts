/**
 * The CLI's two error families. A `UserError` is something the user can fix: it prints as one
 * short paragraph (message + hint), no stack, exit 1. A `UsageError` is a malformed command
 * line: exit 2. Anything else is a bug and prints its stack with NODAL_DEBUG=1.
 */

/** Stable codes, one per kind of user error (tests and scripts may match on them). */
export const ErrorCodes = {
  /** The app file does not exist or cannot be read. */
  E_FILE_NOT_FOUND: "E_FILE_NOT_FOUND",
  /** esbuild could not bundle the app file or one of its imports. */
  E_BUILD_FAILED: "E_BUILD_FAILED",
  /** The app module threw while loading, or its declarations are invalid. */
  E_LOAD_FAILED: "E_LOAD_FAILED",
  /** The module exports no `App`, several without a `::name`, or the named one is missing. */
  E_NO_APP: "E_NO_APP",
  /** A name of an app, function, volume or secret breaks the naming rule. */
  E_INVALID_NAME: "E_INVALID_NAME",
  /** A pinned port is taken by another process. */
  E_PORT_IN_USE: "E_PORT_IN_USE",
  /** The named app, function, volume or secret does not exist. */
  E_NOT_FOUND: "E_NOT_FOUND",
  /** The thing to create exists already. */
  E_ALREADY_EXISTS: "E_ALREADY_EXISTS",
  /** A value passed on the command line is malformed (e.g. --input that is not JSON). */
  E_INVALID_INPUT: "E_INVALID_INPUT",
  /** A function run ended in an error (its message is printed). */
  E_FUNCTION_FAILED: "E_FUNCTION_FAILED",
  /** The action does not apply to the app's current state (e.g. stopping a stopped app). */
  E_INVALID_STATE: "E_INVALID_STATE",
  /** A worker process could not be started or died while starting. */
  E_WORKER_FAILED: "E_WORKER_FAILED",
  /** A destructive command was not confirmed: no --yes and no terminal to ask on, or the answer was no. */
  E_NOT_CONFIRMED: "E_NOT_CONFIRMED",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An error the user can fix; printed as message + hint, exit code 1. */
export class UserError extends Error {
  override name = "UserError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

/** A malformed command line; exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
