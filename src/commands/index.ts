import type { CommandSpec } from "./define.js";
import serve from "./serve.js";
import run from "./run.js";
import appList from "./app/list.js";

/** Every command, in help order. Groups (`app …`) are created from the paths. */
export const commands: CommandSpec[] = [serve, run, appList];

/** Descriptions of command groups. */
export const groups: Record<string, string> = {
  app: "manage apps: list",
};
