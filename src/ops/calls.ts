import { UserError } from "../errors.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import { table } from "../ui/output.js";
import { stdout } from "../ui/stdio.js";
import { runningApp } from "./running.js";

/** `nodal app calls NAME [--function F] [--json]`: the running app's recent calls, oldest first. */
export async function appCalls(name: string, opts: { fn?: string; json: boolean }): Promise<void> {
  const app = runningApp(name, "`app calls`");
  if (opts.fn !== undefined && !app.functions.includes(opts.fn)) {
    throw new UserError("E_NOT_FOUND", `app "${app.name}" has no function "${opts.fn}"`, `its functions: ${app.functions.join(", ") || "none"}`);
  }
  const { calls } = await controlRequest(controlSocketPath(app.id), "calls", opts.fn !== undefined ? { fn: opts.fn } : {}, 5000);
  if (opts.json) {
    stdout.write(JSON.stringify(calls, null, 2) + "\n");
    return;
  }
  if (calls.length === 0) {
    stdout.write(`No calls of ${opts.fn !== undefined ? `"${opts.fn}" in ` : ""}${app.name} since it started.\n`);
    return;
  }
  const rows = calls.map((c) => [c.id, c.function, c.startedAt, `${c.durationMs} ms`, c.outcome, c.error ?? ""]);
  stdout.write(table(["Call ID", "Function", "Started", "Duration", "Outcome", "Error"], rows) + "\n");
}
