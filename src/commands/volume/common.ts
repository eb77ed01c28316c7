/** What every `nodal volume` command shares: opening a volume by name and checking remote paths. */
import { lstatSync, realpathSync, type Stats } from "node:fs";
import { dirname, sep } from "node:path";
import { UserError } from "../../errors.js";
import { InvalidError, NotFoundError } from "../../sdk/errors.js";
import { checkName } from "../../sdk/names.js";
import { Volume, volumeRoot } from "../../sdk/volume.js";
import { sweep, sweepVolume } from "../../registry/sweep.js";

/** Checks a volume name, as a user error (exit 1) rather than the SDK's InvalidError (a "bug"). */
export function volumeName(name: string): string {
  try {
    return checkName("volume", name);
  } catch (error) {
    if (error instanceof InvalidError) throw new UserError("E_INVALID_NAME", error.message);
    throw error;
  }
}

/** An existing volume; an unknown name is a user error with the command that creates it. */
export function openVolume(name: string): Volume {
  volumeName(name);
  sweep();
  sweepVolume(volumeRoot(name));
  try {
    return Volume.fromName(name);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new UserError("E_NOT_FOUND", `volume "${name}" does not exist`, `create it with \`nodal volume create ${name}\`, or see \`nodal volume list\``);
    }
    throw error;
  }
}

/**
 * The absolute path of `rel` inside the volume. Refused (one line, exit 1) when it leaves the
 * volume, lexically (`../x`) or through a symbolic link that an app wrote into the volume: the
 * lexical check of `Volume.resolve` alone would let `link/x` read or write anywhere.
 */
export function remotePath(volume: Volume, rel: string): string {
  let abs: string;
  try {
    abs = volume.resolve(rel);
  } catch (error) {
    if (error instanceof InvalidError) throw new UserError("E_INVALID_INPUT", error.message);
    throw error;
  }
  assertNoLinkEscape(volume, abs, rel);
  return abs;
}

/**
 * Checks the deepest existing ancestor of `abs`'s parent with realpath, and returns it. The last
 * component itself is never followed: commands lstat it, and treat a link as a link.
 */
export function assertNoLinkEscape(volume: Volume, abs: string, rel: string): string {
  if (abs === volume.path) return abs;
  const root = realpathSync(volume.path);
  let p = dirname(abs);
  let real: string | undefined;
  while (real === undefined) {
    try {
      real = realpathSync(p);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || p === volume.path) throw error;
      p = dirname(p);
    }
  }
  if (real !== root && !real.startsWith(root + sep)) {
    throw new UserError("E_INVALID_INPUT", `path "${rel}" leaves volume "${volume.name}" through a symbolic link`);
  }
  return p;
}

/** lstat, or undefined when nothing is there. */
export function lstatMaybe(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** The error for a remote path with nothing at it. */
export function noSuchPath(volume: Volume, rel: string): UserError {
  return new UserError("E_NOT_FOUND", `no file or directory "${rel}" in volume "${volume.name}"`, `see what it holds with \`nodal volume ls ${volume.name}\``);
}
