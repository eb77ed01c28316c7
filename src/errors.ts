/**
 * The CLI's two error families. A `UserError` is something the user can fix: it prints as one
 * short paragraph (message, a code frame when it points into the user's code, hint), no stack,
 * exit 1. A `UsageError` is a malformed command line: exit 2. Anything else is a bug and prints
 * its stack with NODAL_DEBUG=1.
 *
 * Errors cross process boundaries (worker → engine → supervisor → CLI, control socket →
 * `Function.fromName`) in one wire format, `WireError` (see `toWire` / `fromWire`): a user
 * error found in any process reaches the user as that error, with its code and hint.
 */
import { RemoteError } from "./sdk/errors.js";
import { parseFrame } from "./sdk/frames.js";
import { NODAL_DIST } from "./paths.js";

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
  /** A running app's supervisor did not answer (it died or was stopped meanwhile). */
  E_APP_UNREACHABLE: "E_APP_UNREACHABLE",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** A position in the user's code, where an error was thrown (source-mapped: the user's own file). */
export interface WireFrame {
  file: string;
  line: number;
  column: number;
}

/**
 * Marks user errors. The CLI, the supervisor and the worker are separate bundles, each with
 * its own copy of this module; a user error made by one must be recognised by another.
 */
const USER_ERROR = Symbol.for("nodal.UserError");

/** An error the user can fix; printed as message + hint, exit code 1. */
export class UserError extends Error {
  override name = "UserError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Where in the user's code it happened, innermost first (a load error's throw, say). */
  readonly frames: WireFrame[];
  constructor(code: ErrorCode, message: string, hint?: string, frames: WireFrame[] = []) {
    super(message);
    this.code = code;
    this.hint = hint;
    this.frames = frames;
    Object.defineProperty(this, USER_ERROR, { value: true });
  }

  /** `instanceof UserError` holds for user errors made by any bundle (subclasses check as usual). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== UserError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as { [USER_ERROR]?: boolean })[USER_ERROR] === true;
  }
}

/** A malformed command line; exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An error as it crosses a process boundary: IPC to and from workers, supervisors, control sockets. */
export interface WireError {
  /** The error's class name: `UserError`, `TypeError`, `FunctionTimeoutError`… */
  name: string;
  message: string;
  /** Set for user errors (and only them). */
  code?: ErrorCode;
  hint?: string;
  /** Frames in the user's code (not nodal's, a package's or Node's), innermost first. */
  frames?: WireFrame[];
  /** The remote stack, for errors thrown by app code (shown by `RemoteError`, and with NODAL_DEBUG). */
  stack?: string;
}

/** Any thrown value as a `WireError`. */
export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const e = error as Error & { code?: unknown; hint?: unknown; frames?: WireFrame[] };
  const user = error instanceof UserError;
  const frames = user ? e.frames : userFrames(e.stack);
  return {
    name: e.name,
    message: e.message,
    ...(user ? { code: e.code as ErrorCode } : {}),
    ...(typeof e.hint === "string" ? { hint: e.hint } : {}),
    ...(frames && frames.length ? { frames } : {}),
    ...(e.stack && !user ? { stack: e.stack } : {}),
  };
}

/** The error a `WireError` stands for: a `UserError` when it carries a code, else a `RemoteError`. */
export function fromWire(wire: WireError): Error {
  if (wire.code) return new UserError(wire.code, wire.message, wire.hint, wire.frames ?? []);
  const error = new RemoteError(wire.name, wire.message, wire.stack);
  if (wire.frames) Object.assign(error, { frames: wire.frames });
  return error;
}

/** Files that are not the user's: nodal's own code, packages, Node's internals. */
const notUsers = (file: string) => file.startsWith(`${NODAL_DIST}/`) || file.includes("/node_modules/") || !file.startsWith("/");

/** The frames of a stack that lie in the user's code, innermost first. */
export function userFrames(stack: string | undefined, isOwn: (file: string) => boolean = notUsers): WireFrame[] {
  const frames: WireFrame[] = [];
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const f = parseFrame(line);
    if (!f || isOwn(f.file)) continue;
    frames.push({ file: f.file, line: Number(f.line), column: Number(f.column) });
  }
  return frames;
}
