import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "put"],
  args: "<name> <local> [remote]",
  description: "upload a file or a folder (recursively) to a volume; REMOTE ending in / means into that directory",
  options: (cmd) => cmd.option("--force", "overwrite files that exist in the volume"),
  async run([name, local, remoteArg = "/"], opts) {
    const { statSync } = await import("node:fs");
    const { mkdir } = await import("node:fs/promises");
    const { basename, join, posix, relative, resolve } = await import("node:path");
    const { UserError } = await import("../../errors.js");
    const { assertNoLinkEscape, lstatMaybe, openVolume, remotePath } = await import("./common.js");
    const { atomicCopy, copyFailed, formatSize, listFiles, plural } = await import("./files.js");
    const volume = openVolume(name!);
    const localAbs = resolve(local!);
    const st = statSync(localAbs, { throwIfNoEntry: false });
    if (!st) throw new UserError("E_FILE_NOT_FOUND", `local path "${local}" does not exist`);
    if (!st.isFile() && !st.isDirectory()) throw new UserError("E_INVALID_INPUT", `"${local}" is neither a file nor a directory`);
    // As `modal volume put`: a REMOTE ending in "/" (the default is "/") is a directory that
    // receives LOCAL under its own name; any other REMOTE is LOCAL's new path.
    const remote = remoteArg.endsWith("/") ? posix.join(remoteArg, basename(localAbs)) : remoteArg;
    const dest = remotePath(volume, remote);
    const shown = (abs: string) => "/" + relative(volume.path, abs).split("\\").join("/");
    if (st.isFile() && dest === volume.path) {
      const hint = `end REMOTE with / to keep the file's name, e.g. \`nodal volume put ${name} ${local} /\``;
      throw new UserError("E_INVALID_INPUT", `"${remoteArg}" is the root of volume "${name}"`, hint);
    }
    const rels = st.isDirectory() ? await listFiles(localAbs, { followFileLinks: true }) : [""];
    const plan = rels.map((rel) => ({ src: rel ? join(localAbs, rel) : localAbs, dest: rel ? join(dest, rel) : dest }));

    // Check every target before writing anything, so that a refusal leaves the volume untouched.
    const topStat = lstatMaybe(dest);
    if (st.isDirectory() && topStat && !topStat.isDirectory()) {
      throw new UserError("E_ALREADY_EXISTS", `"${shown(dest)}" is a file in volume "${name}"; cannot put a folder there`, "choose another REMOTE path");
    }
    const existing: string[] = [];
    for (const p of plan) {
      const ancestor = assertNoLinkEscape(volume, p.dest, shown(p.dest));
      if (!statSync(ancestor).isDirectory()) {
        const why = `cannot put "${shown(p.dest)}": "${shown(ancestor)}" is a file in volume "${name}"`;
        throw new UserError("E_ALREADY_EXISTS", why, "choose another REMOTE path");
      }
      const there = lstatMaybe(p.dest);
      if (there?.isDirectory()) {
        throw new UserError(
          "E_ALREADY_EXISTS",
          `"${shown(p.dest)}" is a directory in volume "${name}"; cannot overwrite it with a file`,
          `remove it first with \`nodal volume rm ${name} ${shown(p.dest)} -r\``,
        );
      }
      if (there && !opts.force) existing.push(shown(p.dest));
    }
    if (existing.length > 0) {
      const more = existing.length > 1 ? ` (and ${plural(existing.length - 1, "other file")})` : "";
      throw new UserError("E_ALREADY_EXISTS", `"${existing[0]}" already exists in volume "${name}"${more}`, "pass --force to overwrite");
    }

    let bytes = 0;
    if (st.isDirectory()) await mkdir(dest, { recursive: true }).catch((e) => Promise.reject(copyFailed(e, shown(dest))));
    for (const p of plan) {
      await atomicCopy(p.src, p.dest).catch((e) => Promise.reject(copyFailed(e, shown(p.dest))));
      bytes += statSync(p.dest).size;
    }
    const what = st.isDirectory() ? `${plural(plan.length, "file")} from "${local}"` : `"${local}"`;
    stdout.write(`✓ Uploaded ${what} to ${name}:${shown(dest)} (${formatSize(bytes)})\n`);
  },
});

