import { defineCommand } from "./define.js";
import { parsePort } from "./parse.js";

export default defineCommand({
  path: ["serve"],
  args: "<file>",
  description: "run an app in the foreground with hot reload (FILE or FILE::app)",
  options: (cmd) =>
    cmd
      .option("--port <port>", "port of the first web function (exactly; others take the next free ones)", parsePort)
      .option("--host <host>", "address to bind", "127.0.0.1")
      .option("--no-schedules", "do not fire the app's schedules"),
  async run([file], opts) {
    const { parseTarget } = await import("../loader/target.js");
    const { serve } = await import("../serve/session.js");
    return serve(parseTarget(file!), { host: opts.host, schedules: opts.schedules !== false, ...(opts.port !== undefined ? { port: opts.port } : {}) });
  },
});
