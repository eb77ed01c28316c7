import { UserError } from "../errors.js";
import { resolveApp } from "../registry/resolve.js";
import type { AppRecord, AppState } from "../registry/apps.js";

/** The running instance (deployed or served) NAME resolves to; a stopped or crashed one is the user's error. */
export function runningApp(name: string, doing: string): AppRecord & { live: AppState } {
  const app = resolveApp(name);
  if (app.live !== "deployed" && app.live !== "ephemeral") {
    throw new UserError("E_INVALID_STATE", `app "${app.name}" is ${app.live}; ${doing} needs it running`, `start it with \`nodal deploy ${app.file}\` or \`nodal serve ${app.file}\``);
  }
  return app;
}
