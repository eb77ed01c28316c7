import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "rm"],
  args: "<name> <path>",
  description: "delete a file, or a directory with -r, from a volume",
  options: (cmd) => cmd.option("-r, --recursive", "delete a directory and everything in it"),
  async run([name, rel], opts) {
    const { rm } = await import("node:fs/promises");
    const { relative } = await import("node:path");
    const { UserError } = await import("../../errors.js");
    const { lstatMaybe, noSuchPath, openVolume, remotePath } = await import("./common.js");
    const volume = openVolume(name!);
    const target = remotePath(volume, rel!);
    if (target === volume.path) {
      throw new UserError("E_INVALID_INPUT", `"${rel}" is the root of volume "${name}"`, `delete the whole volume with \`nodal volume delete ${name}\``);
    }
    const st = lstatMaybe(target);
    if (!st) throw noSuchPath(volume, rel!);
    const shown = "/" + relative(volume.path, target);
    if (st.isDirectory() && !opts.recursive) {
      const hint = `pass -r to delete it and everything in it: \`nodal volume rm ${name} ${rel} -r\``;
      throw new UserError("E_INVALID_INPUT", `"${shown}" is a directory in volume "${name}"`, hint);
    }
    // fs.rm lstats: a link is removed itself, never what it points to.
    await rm(target, { recursive: st.isDirectory() });
    const kind = st.isDirectory() ? "directory" : st.isSymbolicLink() ? "link" : "file";
    stdout.write(`✓ Deleted ${kind} ${name}:${shown}\n`);
  },
});
