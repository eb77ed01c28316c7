import { defineCommand } from "../define.js";
import { parseCount } from "../parse.js";

export default defineCommand({
  path: ["app", "stop"],
  args: "<name>",
  description: "stop an app gracefully: in-flight requests and runs finish, then its state is stopped",
  options: (cmd) => cmd.option("--grace <seconds>", "the most in-flight work may take before workers are killed (default: each function's timeout)", parseCount),
  async run([name], opts) {
    const { stopApp } = await import("../../deploy/stop.js");
    await stopApp(name!, opts.grace !== undefined ? opts.grace * 1000 : undefined);
  },
});
