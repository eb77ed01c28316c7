import type { Command } from "commander";

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
  run: (args: string[], opts: Record<string, any>, cmd: Command) => Promise<number | void>;
}

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}
