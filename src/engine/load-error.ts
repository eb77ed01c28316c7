import { fromWire, UserError } from "../errors.js";
import { formatFrame } from "../sdk/frames.js";
import { WorkerError } from "./worker.js";

/**
 * A worker's failure to load or start, as the user's error: a user error found in the worker
 * (a bad option, no App) as itself; anything the app's code threw as `file:line:col: Name:
 * message`, the frames kept for the code frame the CLI prints.
 */
export function toLoadError(error: unknown): Error {
  if (error instanceof UserError) return error;
  if (!(error instanceof WorkerError)) return error as Error;
  if (!error.wire) return new UserError("E_LOAD_FAILED", `the app failed to load: ${error.message}`);
  const remote = fromWire(error.wire);
  if (remote instanceof UserError) return remote;
  const frames = error.wire.frames ?? [];
  const where = frames[0] ? `${formatFrame({ file: frames[0].file, line: String(frames[0].line), column: String(frames[0].column) })}: ` : "";
  return new UserError("E_LOAD_FAILED", `${where}${error.wire.name}: ${error.wire.message}`, undefined, frames);
}
