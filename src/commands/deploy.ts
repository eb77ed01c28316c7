import { defineCommand } from "./define.js";

export default defineCommand({
  path: ["deploy"],
  args: "<file>",
  description: "deploy an app as a detached, supervised instance (FILE or FILE::app); redeploys swap with zero downtime",
  options: (cmd) =>
    cmd
      .option("--name <name>", "deploy under this name instead of the App's own")
      .option("--host <host>", "address to bind", "127.0.0.1")
      .option("--json", "machine-readable output"),
  async run([file], opts) {
    const { parseTarget } = await import("../loader/target.js");
    const { deploy } = await import("../deploy/deploy.js");
    return deploy(parseTarget(file!), { host: opts.host, json: Boolean(opts.json), ...(opts.name ? { name: opts.name } : {}) });
  },
});
