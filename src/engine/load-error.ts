import { UserError } from "../errors.js";
import { formatFrame, parseFrame } from "../sdk/frames.js";
import { NODAL_DIST } from "../paths.js";
import { WorkerError } from "./worker.js";

/** A worker's failure to load or start, as the user's error (file:line, message). */
export function toLoadError(error: unknown): Error {
  if (error instanceof UserError) return error;
  if (error instanceof WorkerError) {
    const wire = error.wire;
    if (wire?.code && wire.name === "UserError") {
      return new UserError(wire.code as never, wire.message, wire.hint);
    }
    if (!wire) return new UserError("E_LOAD_FAILED", `the app failed to load: ${error.message}`);
    const where = userFrame(wire.stack);
    return new UserError("E_LOAD_FAILED", `${where ? `${where}: ` : ""}${wire.name}: ${wire.message}`);
  }
  return error as Error;
}

/** The first stack frame in the user's code (not nodal's, not a package's, not Node's), as file:line:col. */
function userFrame(stack: string | undefined): string | undefined {
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const frame = parseFrame(line);
    if (!frame || frame.file.startsWith(`${NODAL_DIST}/`) || frame.file.includes("/node_modules/")) continue;
    return formatFrame(frame);
  }
  return undefined;
}
