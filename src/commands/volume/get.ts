import { defineCommand } from "../define.js";
import { readerGone } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "get"],
  args: "<name> <remote> [local]",
  description: 'download a file or a folder (recursively) from a volume; LOCAL defaults to ".", "-" writes a file to stdout',
  options: (cmd) => cmd.option("--force", "overwrite local files that exist"),
  async run([name, remote, local = "."], opts) {
    const { createReadStream, statSync } = await import("node:fs");
    const { mkdir } = await import("node:fs/promises");
    const { basename, join, relative } = await import("node:path");
    const { UserError } = await import("../../errors.js");
    const { lstatMaybe, noSuchPath, openVolume, remotePath } = await import("./common.js");
    const { atomicCopy, copyFailed, formatSize, listFiles, plural } = await import("./files.js");
    const volume = openVolume(name!);
    const src = remotePath(volume, remote!);
    const st = lstatMaybe(src);
    if (!st) throw noSuchPath(volume, remote!);
    if (!st.isFile() && !st.isDirectory()) {
      throw new UserError("E_INVALID_INPUT", `"${remote}" in volume "${name}" is not a regular file or directory (links inside volumes are not followed)`);
    }
    if (local === "-") {
      if (st.isDirectory()) {
        const hint = `download it into a folder: \`nodal volume get ${name} ${remote} .\``;
        throw new UserError("E_INVALID_INPUT", `"${remote}" is a directory; "-" writes a single file to stdout`, hint);
      }
      await toStdout(createReadStream(src));
      return;
    }
    // As `modal volume get`: an existing local directory receives REMOTE under its own name;
    // any other LOCAL is the new path itself.
    const localIsDir = statSync(local, { throwIfNoEntry: false })?.isDirectory() ?? false;
    const destRoot = localIsDir && src !== volume.path ? join(local, basename(src)) : local;
    const rels = st.isDirectory() ? await listFiles(src, { followFileLinks: false }) : [""];
    const plan = rels.map((rel) => ({ src: rel ? join(src, rel) : src, dest: rel ? join(destRoot, rel) : destRoot }));

    // Check every target before writing anything, so that a refusal leaves local files untouched.
    const rootStat = lstatMaybe(destRoot);
    if (st.isDirectory() && rootStat && !rootStat.isDirectory()) {
      throw new UserError("E_ALREADY_EXISTS", `"${destRoot}" is a file; cannot download the folder "${remote}" there`, "choose another LOCAL path");
    }
    const existing: string[] = [];
    for (const p of plan) {
      const there = lstatMaybe(p.dest);
      if (there?.isDirectory()) {
        throw new UserError("E_ALREADY_EXISTS", `"${p.dest}" is a directory; cannot overwrite it with a file`, "choose another LOCAL path");
      }
      if (there && !opts.force) existing.push(p.dest);
    }
    if (existing.length > 0) {
      const more = existing.length > 1 ? ` (and ${plural(existing.length - 1, "other file")})` : "";
      throw new UserError("E_ALREADY_EXISTS", `"${existing[0]}" already exists${more}`, "pass --force to overwrite");
    }

    let bytes = 0;
    if (st.isDirectory()) await mkdir(destRoot, { recursive: true }).catch((e) => Promise.reject(copyFailed(e, destRoot)));
    for (const p of plan) {
      await atomicCopy(p.src, p.dest).catch((e) => Promise.reject(copyFailed(e, p.dest)));
      bytes += statSync(p.dest).size;
    }
    const from = `${name}:/${relative(volume.path, src)}`;
    const what = st.isDirectory() ? `${plural(plan.length, "file")} from ${from}` : from;
    process.stdout.write(`✓ Downloaded ${what} to ${destRoot} (${formatSize(bytes)})\n`);
  },
});

/** Copies a stream to stdout without ending it; a reader that goes away (`| head`) is not an error. */
function toStdout(rs: NodeJS.ReadableStream & { destroy(): void }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      rs.destroy();
      if (readerGone(error)) resolve();
      else reject(error);
    };
    process.stdout.once("error", onError);
    rs.on("error", reject);
    rs.on("end", () => {
      process.stdout.off("error", onError);
      resolve();
    });
    rs.pipe(process.stdout, { end: false });
  });
}
