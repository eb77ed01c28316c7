import { defineCommand } from "../define.js";

export default defineCommand({
  path: ["app", "stop"],
  args: "<name>",
  description: "stop an app gracefully: in-flight requests and runs finish, then its state is stopped",
  options: (cmd) => cmd.option("--grace <seconds>", "how long in-flight work may take before workers are killed", "10"),
  async run([name], opts) {
    const { stopApp } = await import("../../deploy/stop.js");
    await stopApp(name!, Math.max(0, Number(opts.grace) || 0) * 1000);
  },
});
