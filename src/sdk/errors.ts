/** Errors that app code and scripts can catch, named as in Modal's own TypeScript SDK. */

/** A named app, function, volume or secret does not exist. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** An argument or option is invalid: a bad name, an out-of-range option, a path leaving a volume. */
export class InvalidError extends Error {
  override name = "InvalidError";
}

/** A function run passed its `timeout` and its worker was killed. */
export class FunctionTimeoutError extends Error {
  override name = "FunctionTimeoutError";
}

/** A function's worker went over its `memory` limit and was stopped. */
export class MemoryLimitError extends Error {
  override name = "MemoryLimitError";
}

/** `FunctionCall.get({ timeout })` found no result within the timeout. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** A function threw in its worker; `name`, `message` and `stack` are the remote ones. */
export class RemoteError extends Error {
  override name = "RemoteError";
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

/** The call was stopped with `FunctionCall.cancel()` before it finished. */
export class CancelledError extends Error {
  override name = "CancelledError";
}
