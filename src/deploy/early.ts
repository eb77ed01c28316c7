/**
 * A first deploy's head start. bin/nodal.cjs calls `startEarly` before it loads the rest of the
 * CLI, so the supervisor (and the worker it forks at once) boots while the CLI loads, parses
 * the command line and builds the app. A supervisor that is never used exits with this CLI.
 *
 * It is skipped when the file is already deployed and live: a redeploy swaps into that app's
 * supervisor, and a spare process would only take CPU from it. Reading the file from argv here
 * is a guess (commander parses it properly later); a wrong guess costs only the head start.
 */
import { resolve } from "node:path";
import { listApps, liveState } from "../registry/apps.js";
import { PendingSupervisor } from "./pending.js";

/**
 * Where the early supervisor waits for the deploy. This module is in two bundles (dist/deploy/
 * early.cjs, loaded first, and dist/cli.cjs), each with its own module state; the process has
 * one global object.
 */
const EARLY = Symbol.for("nodal.earlySupervisor");
const slot = globalThis as { [EARLY]?: PendingSupervisor };

/** Options of `nodal deploy` that take a value (`--name NAME`). */
const VALUE_OPTIONS = new Set(["--name", "--host", "--tag"]);

/** `args`: the command line after `deploy`. */
export function startEarly(args: string[]): void {
  let file: string | undefined;
  for (let i = 0; i < args.length && file === undefined; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") return;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith("-")) file = arg;
  }
  if (file === undefined) return;
  const at = file.lastIndexOf("::");
  const path = resolve(at >= 0 ? file.slice(0, at) : file);
  try {
    if (listApps().some((r) => r.state === "deployed" && r.file === path && liveState(r) === "deployed")) return;
  } catch {
    return; // an unreadable registry: the deploy will say why
  }
  slot[EARLY] = PendingSupervisor.spawn();
}

/** The supervisor started early, once: the deploy that takes it owns it. */
export function takeEarly(): PendingSupervisor | undefined {
  const taken = slot[EARLY];
  delete slot[EARLY];
  return taken;
}
