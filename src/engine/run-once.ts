import { rmSync } from "node:fs";
import { basePort } from "./front-door.js";
import { Builder } from "../loader/build.js";
import type { Target } from "../loader/target.js";
import { UserError } from "../errors.js";
import { homeDir } from "../registry/home.js";
import { newAppId } from "../registry/apps.js";
import { Engine, type LogEntry } from "./engine.js";

export interface RunOptions {
  input: unknown;
  hasInput: boolean;
  argv: string[];
}

/**
 * `nodal run`: builds the app once, then runs one function in its own worker (as `.remote()`
 * would) and prints its result as JSON, or runs the local entrypoint with `argv`. Output lines
 * of the workers are printed as they come; the result last, after the workers have exited.
 */
export async function runOnce(target: Target, opts: RunOptions): Promise<number> {
  const buildDir = homeDir("builds", newAppId());
  const builder = new Builder(target.path, buildDir);
  const engine = new Engine({
    file: target.file,
    ...(target.selector ? { selector: target.selector } : {}),
    host: "127.0.0.1",
    basePort: basePort(),
    serveWeb: false,
    spares: 0,
    onLog: (e: LogEntry) => (e.stream === "stderr" ? process.stderr : process.stdout).write(`${e.lines.join("\n")}\n`),
  });
  let outcome: { ok: true; value: unknown; print: boolean } | { ok: false; error: unknown };
  try {
    const { version } = await engine.activate(await builder.build());
    const { manifest } = version;
    const plain = manifest.functions.filter((f) => f.kind === "function");
    let fn = manifest.target;
    if (fn && manifest.functions.find((f) => f.name === fn)?.kind === "web") {
      throw new UserError("E_INVALID_INPUT", `"${fn}" is a web function; serve it with \`nodal serve ${target.file}\` and call its URL`);
    }
    if (!fn && !manifest.hasLocalEntrypoint) {
      if (plain.length !== 1) {
        throw new UserError(
          "E_NOT_FOUND",
          `app "${manifest.appName}" has no local entrypoint${plain.length ? ` and ${plain.length} functions` : " and no functions"}`,
          plain.length ? `pick one: ${plain.map((f) => `${target.file}::${f.name}`).join(", ")}` : "add app.localEntrypoint(async (argv) => …) or an app.function",
        );
      }
      fn = plain[0]!.name;
    }
    try {
      if (fn) outcome = { ok: true, value: await engine.call(fn, opts.hasInput ? [opts.input] : []), print: true };
      else {
        const value = await engine.runEntrypoint(opts.argv);
        outcome = { ok: true, value, print: value !== undefined };
      }
    } catch (error) {
      outcome = { ok: false, error };
    }
  } finally {
    await engine.stop(2000);
    await builder.dispose();
    rmSync(buildDir, { recursive: true, force: true });
  }
  if (!outcome.ok) {
    if (outcome.error instanceof UserError) throw outcome.error;
    const e = outcome.error as Error;
    throw new UserError("E_FUNCTION_FAILED", `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}`, stackHint(e));
  }
  if (outcome.print) process.stdout.write(JSON.stringify(outcome.value ?? null, null, 2) + "\n");
  return 0;
}

function stackHint(e: Error): string | undefined {
  const frames = (e.stack ?? "").split("\n").filter((l) => l.trim().startsWith("at ")).slice(0, 3);
  return frames.length ? `remote stack:\n${frames.join("\n")}` : undefined;
}
