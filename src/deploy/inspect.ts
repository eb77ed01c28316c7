import { pathToFileURL } from "node:url";
import { describeApp, findApp } from "../loader/discover.js";
import type { AppManifest } from "../loader/manifest.js";
import { UserError } from "../errors.js";
import type { BuildOutput } from "../loader/build.js";

/**
 * Describes a build by importing it in this process, as `modal deploy` imports the app file
 * locally: top-level code runs here too. Load errors come back as `UserError`s naming the
 * user's file and line.
 */
export async function inspectBuild(build: BuildOutput, file: string, selector?: string): Promise<AppManifest> {
  process.setSourceMapsEnabled(true);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(build.file).href)) as Record<string, unknown>;
  } catch (error) {
    const e = error as Error;
    const frame = (e.stack ?? "").split("\n").find((l) => /\/[^\s()]+\.(m?[jt]sx?):\d+:\d+/.test(l) && !l.includes("/node_modules/") && !l.includes("/dist/"));
    const where = frame?.match(/\(?((?:file:\/\/)?\/[^\s()]+:\d+:\d+)\)?\s*$/)?.[1]?.replace(/^file:\/\//, "");
    throw new UserError("E_LOAD_FAILED", `${where ? `${where}: ` : ""}${e.name}: ${e.message}`);
  }
  return describeApp(mod, findApp(mod, file, selector));
}
