import type { Command } from "commander";
import type { WorkerProcess } from "../engine/fork.js";

/** What the process running the CLI hands to `main` besides its arguments. */
export interface CliContext {
  /** `nodal start`'s first worker, forked by bin/nodal.cjs before the CLI loaded (see engine/prefork.ts). */
  preforked?: WorkerProcess;
}

/** A CLI command declared as data; `src/cli.ts` registers the list. */
export interface CommandSpec {
  /** Path under `nodal`, e.g. ["app", "list"]. */
  path: string[];
  /** Positional arguments in commander syntax, e.g. "<file>". */
  args?: string;
  description: string;
  /** Adds options; heavy modules are imported inside `run`, not here. */
  options?: (cmd: Command) => Command;
  /** Returns the exit code (default 0); throws `UserError` for anything the user can fix. */
  run: (args: string[], opts: Record<string, any>, cmd: Command, context: CliContext) => Promise<number | void>;
}

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}
