import { deserialize, serialize } from "node:v8";
import { UserError } from "../errors.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import { stdout } from "../ui/stdio.js";
import { runningApp } from "./running.js";

/** No CLI-side limit: the app ends the call at its function's timeout. setTimeout's maximum. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * `nodal app run NAME::FUNCTION [--input JSON]`: runs the function in the running app's own
 * workers and prints its result as JSON. The function's error is the user's (exit 1).
 */
export async function appRun(name: string, fn: string, input: { value: unknown } | undefined): Promise<number> {
  const app = runningApp(name, "`app run`");
  const args = serialize(input ? [input.value] : []).toString("base64");
  let value: unknown;
  try {
    const res = await controlRequest(controlSocketPath(app.id), "run", { fn, args }, NO_TIMEOUT_MS);
    value = deserialize(Buffer.from(res.value, "base64"));
  } catch (error) {
    if (error instanceof UserError) throw error;
    const e = error as Error;
    throw new UserError("E_FUNCTION_FAILED", `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}`, stackHint(e));
  }
  stdout.write(JSON.stringify(value ?? null, null, 2) + "\n");
  return 0;
}

function stackHint(e: Error): string | undefined {
  const frames = (e.stack ?? "").split("\n").filter((l) => l.trim().startsWith("at ")).slice(0, 3);
  return frames.length ? `remote stack:\n${frames.join("\n")}` : undefined;
}
