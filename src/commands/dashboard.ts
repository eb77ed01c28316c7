import { defineCommand } from "./define.js";
import { parsePort } from "./parse.js";

export default defineCommand({
  path: ["dashboard"],
  description: "serve the dashboard on 127.0.0.1: apps, functions, schedules, calls and live logs in the browser",
  options: (cmd) => cmd.option("--port <port>", "port to serve it on (default 8787)", parsePort),
  async run(_args, opts) {
    const { Dashboard, DEFAULT_DASHBOARD_PORT } = await import("../dashboard/server.js");
    const { dashboardToken } = await import("../dashboard/token.js");
    const { stdout } = await import("../ui/stdio.js");
    const dashboard = new Dashboard({ port: (opts.port as number | undefined) ?? DEFAULT_DASHBOARD_PORT, token: dashboardToken() });
    await dashboard.listen();
    stdout.write(`Dashboard: ${dashboard.url}/?token=${dashboard.opts.token}\n`);
    await new Promise<void>((resolve) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
    });
    dashboard.close();
    return 0;
  },
});
