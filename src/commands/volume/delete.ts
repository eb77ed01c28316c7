import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "delete"],
  args: "<name>",
  description: "delete a volume and all its files (asks first; --yes when there is no terminal)",
  options: (cmd) => cmd.option("-y, --yes", "delete without asking"),
  async run([name], opts) {
    const { randomBytes } = await import("node:crypto");
    const { renameSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { homeDir } = await import("../../registry/home.js");
    const { volumeRoot } = await import("../../sdk/volume.js");
    const { confirmDelete } = await import("../confirm.js");
    const { openVolume } = await import("./common.js");
    openVolume(name!);
    await confirmDelete(`volume "${name}"`, `nodal volume delete ${name}`, opts.yes === true);
    // Rename first, then remove: the rename is atomic, so a crash mid-removal never leaves a
    // half-deleted volume under its name. "~" is outside the naming rule: no volume can clash.
    const doomed = join(homeDir("volumes"), `~deleting-${name}-${randomBytes(4).toString("hex")}`);
    renameSync(volumeRoot(name!), doomed);
    rmSync(doomed, { recursive: true, force: true });
    stdout.write(`✓ Deleted volume "${name}"\n`);
  },
});
