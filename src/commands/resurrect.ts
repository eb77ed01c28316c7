import { defineCommand } from "./define.js";

export default defineCommand({
  path: ["resurrect"],
  description: "start again every deployed app whose process is gone (after a reboot), from its current version; stopped apps stay stopped",
  async run() {
    const { resurrect } = await import("../ops/resurrect.js");
    return resurrect();
  },
});
