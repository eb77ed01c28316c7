import { defineCommand } from "./define.js";
import { parsePort } from "./parse.js";

export default defineCommand({
  path: ["serve"],
  args: "<file>",
  description: "run an app in the foreground with hot reload (FILE or FILE::app)",
  options: (cmd) =>
    cmd
      .option("--port <port>", "port of the first web function (exactly; others take the next free ones)", parsePort)
      .option("--host <host>", "address to bind", "127.0.0.1"),
  async run([file], opts) {
    const { parseTarget } = await import("../loader/target.js");
    const { serve } = await import("../serve/session.js");
    return serve(parseTarget(file!), { host: opts.host, ...(opts.port !== undefined ? { port: opts.port } : {}) });
  },
});
