import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NODAL_ROOT } from "./paths.js";
import { commands, groups } from "./commands/index.js";
import type { CliContext } from "./commands/define.js";
import { UsageError, UserError } from "./errors.js";
import { codeFrame } from "./ui/code-frame.js";
import { style } from "./ui/output.js";
import { OutputClosedError, stderr, stdout } from "./ui/stdio.js";

export { setOutput } from "./ui/stdio.js";

const pkg = JSON.parse(readFileSync(join(NODAL_ROOT, "package.json"), "utf8")) as { version: string };

function program(context: CliContext): Command {
  const root = new Command("nodal")
    .description("Modal's serverless workflow on your own machine, for TypeScript")
    .version(pkg.version)
    .exitOverride()
    .showHelpAfterError("(run `nodal --help` for usage)")
    .allowExcessArguments(false)
    // Help and usage errors go where every other line goes (see ui/stdio), so an in-process
    // run captures them, and `--help` need not build process.stdout.
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      writeErr: (text) => stderr.write(text),
      getOutHelpWidth: () => (stdout.isTTY ? process.stdout.columns : 80),
      getErrHelpWidth: () => (stderr.isTTY ? process.stderr.columns : 80),
      getOutHasColors: () => stdout.isTTY === true && !process.env.NO_COLOR,
      getErrHasColors: () => stderr.isTTY === true && !process.env.NO_COLOR,
    });
  const parents = new Map<string, Command>([["", root]]);
  for (const spec of commands) {
    let parent = root;
    for (let i = 0; i < spec.path.length - 1; i++) {
      const key = spec.path.slice(0, i + 1).join(" ");
      let group = parents.get(key);
      if (!group) {
        group = parent.command(spec.path[i]!).description(groups[key] ?? "").exitOverride();
        parents.set(key, group);
      }
      parent = group;
    }
    let cmd = parent.command(`${spec.path.at(-1)}${spec.args ? ` ${spec.args}` : ""}`).description(spec.description).exitOverride();
    if (spec.options) cmd = spec.options(cmd);
    cmd.action(async (...params: unknown[]) => {
      const c = params.at(-1) as Command;
      lastExit = (await spec.run(c.args, c.opts(), c, context)) ?? 0;
    });
  }
  return root;
}

let lastExit = 0;

/** Runs the CLI; resolves to the exit code, throws on errors (see `exitCodeFor`). */
export async function main(argv: string[], context: CliContext = {}): Promise<number> {
  lastExit = 0;
  try {
    await program(context).parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return 0;
      // commander has printed its message already.
      throw new UsageError(error.message, { cause: error });
    }
    throw error;
  }
  return lastExit;
}

/**
 * Prints an error the way its family asks and returns the exit code: 1 user, 2 usage, 1 bug;
 * 0 when the reader of our output has gone (`nodal app logs | head`), as other Unix tools do.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof OutputClosedError) return 0;
  try {
    return report(error);
  } catch (writing) {
    if (writing instanceof OutputClosedError) return error instanceof UsageError ? 2 : 1;
    throw writing;
  }
}

function report(error: unknown): number {
  const err = stderr;
  if (error instanceof UsageError) return 2;
  if (error instanceof UserError) {
    err.write(`${style("red", "Error:", err)} ${error.message}\n`);
    const frame = error.frames[0] && codeFrame(error.frames[0]);
    if (frame) err.write(`${frame}\n`);
    if (error.hint) err.write(`${style("dim", "Hint:", err)} ${error.hint}\n`);
    return 1;
  }
  const e = error as Error;
  err.write(`${style("red", "Error:", err)} ${e?.message ?? String(error)}\n`);
  if (process.env.NODAL_DEBUG) err.write(`${e?.stack ?? ""}\n`);
  else err.write("This looks like a bug in nodal; please report it (set NODAL_DEBUG=1 for the stack).\n");
  return 1;
}
