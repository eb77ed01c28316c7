import { defineCommand } from "./define.js";

export default defineCommand({
  path: ["unstartup"],
  description: "disable and remove the systemd user unit that `nodal startup` installed",
  async run() {
    const { unstartup } = await import("../ops/startup.js");
    return unstartup();
  },
});
