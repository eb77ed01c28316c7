import { defineCommand } from "../define.js";

export default defineCommand({
  path: ["app", "rollover"],
  args: "<name>",
  description: "start new workers for the live version, re-reading secrets and packages (zero failed requests)",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run([name], opts) {
    const { rollover } = await import("../../deploy/rollover.js");
    await rollover(name!, Boolean(opts.json));
  },
});
