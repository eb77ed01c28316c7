import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "ls"],
  args: "<name> [path]",
  description: "list the files and directories at PATH in a volume (default its root)",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run([name, rel = "/"], opts) {
    const { lstatSync, readdirSync } = await import("node:fs");
    const { join, relative } = await import("node:path");
    const { lstatMaybe, noSuchPath, openVolume, remotePath } = await import("./common.js");
    const { formatSize } = await import("./files.js");
    const { table } = await import("../../ui/output.js");
    const volume = openVolume(name!);
    const target = remotePath(volume, rel);
    const st = lstatMaybe(target);
    if (!st) throw noSuchPath(volume, rel);
    // Links are listed as links and never followed: one could point outside the volume.
    const paths = st.isDirectory() ? readdirSync(target).sort().map((n) => join(target, n)) : [target];
    const entries = paths.map((p) => {
      const s = lstatSync(p);
      const type = s.isDirectory() ? "directory" : s.isSymbolicLink() ? "link" : "file";
      return { path: relative(volume.path, p), type, size: s.size, mtime: s.mtime.toISOString() };
    });
    if (opts.json) {
      stdout.write(JSON.stringify(entries, null, 2) + "\n");
      return;
    }
    if (entries.length === 0) {
      const where = target === volume.path ? `volume "${volume.name}"` : `"${relative(volume.path, target)}" in volume "${volume.name}"`;
      stdout.write(`${where} is empty. Add files with \`nodal volume put ${volume.name} LOCAL_PATH\`.\n`);
      return;
    }
    const rows = entries.map((e) => [
      e.type === "directory" ? `${e.path}/` : e.path,
      e.type === "directory" ? "dir" : e.type,
      e.type === "directory" ? "-" : formatSize(e.size),
      e.mtime.replace("T", " ").slice(0, 19),
    ]);
    stdout.write(table(["Path", "Type", "Size", "Modified"], rows) + "\n");
  },
});
