import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../errors.js";

/** `FILE` or `FILE::name`, with the file checked to exist. */
export interface Target {
  /** As the user wrote it (for messages). */
  file: string;
  /** Absolute path. */
  path: string;
  selector?: string;
}

export function parseTarget(spec: string): Target {
  const at = spec.lastIndexOf("::");
  const file = at >= 0 ? spec.slice(0, at) : spec;
  const selector = at >= 0 ? spec.slice(at + 2) : undefined;
  if (at >= 0 && !selector) throw new UserError("E_INVALID_INPUT", `"${spec}" names no export after "::"`, `write ${file}::app or ${file}::functionName`);
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UserError("E_FILE_NOT_FOUND", `app file ${file} does not exist`, "check the path, or scaffold an app with `nodal init rest-api`");
  }
  return { file, path, ...(selector ? { selector } : {}) };
}
