import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The state directory: `$NODAL_HOME`, default `~/.nodal`. */
export function nodalHome(): string {
  return process.env.NODAL_HOME || join(homedir(), ".nodal");
}

/** A directory under `$NODAL_HOME`, created owner-only (0700) if missing. */
export function homeDir(...parts: string[]): string {
  const dir = join(nodalHome(), ...parts);
  // mkdir's mode applies to every directory it creates, NODAL_HOME included.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
