import { InvalidArgumentError } from "commander";
import { defineCommand } from "./define.js";

/** A tag is one line of at most 100 characters. */
function parseTag(value: string): string {
  if (value.length === 0 || value.length > 100 || /[\x00-\x1f\x7f]/.test(value)) throw new InvalidArgumentError("A tag is 1 to 100 characters on one line.");
  return value;
}

export default defineCommand({
  path: ["deploy"],
  args: "<file>",
  description: "deploy an app as a detached, supervised instance (FILE or FILE::app); redeploys swap with zero downtime",
  options: (cmd) =>
    cmd
      .option("--name <name>", "deploy under this name instead of the App's own")
      .option("--host <host>", "address to bind", "127.0.0.1")
      .option("--tag <tag>", "a label kept with the new version, shown by `app history` (a release, a commit)", parseTag)
      .option("--json", "machine-readable output"),
  async run([file], opts) {
    const { parseTarget } = await import("../loader/target.js");
    const { deploy } = await import("../deploy/deploy.js");
    return deploy(parseTarget(file!), { host: opts.host, json: Boolean(opts.json), ...(opts.name ? { name: opts.name } : {}), ...(opts.tag !== undefined ? { tag: opts.tag as string } : {}) });
  },
});
