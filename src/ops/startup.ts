/**
 * `nodal startup` / `nodal unstartup`: a systemd user unit that runs `nodal resurrect` when the
 * user's service manager starts (at boot, with lingering on; else at login), so deployed apps
 * come back after a reboot. External programs (systemctl, loginctl) run through execa.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { NODAL_ROOT } from "../paths.js";
import { nodalHome } from "../registry/home.js";
import { style } from "../ui/output.js";
import { stdout } from "../ui/stdio.js";

export const UNIT_NAME = "nodal.service";

/** Where the user unit goes: `$XDG_CONFIG_HOME/systemd/user/`, default `~/.config/systemd/user/`. */
export function unitPath(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith("/") ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(config, "systemd", "user", UNIT_NAME);
}

/**
 * One word of a unit file line: bare when it holds nothing systemd reads specially, else
 * double-quoted with `\` and `"` escaped. `%` starts a specifier in Environment= and
 * ExecStart=, and `$` a variable in ExecStart= (`exec`): both are doubled.
 */
export function unitWord(word: string, exec = false): string {
  let escaped = word.replace(/%/g, "%%");
  if (exec) escaped = escaped.replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_\-./:@+,=%$]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export interface UnitPaths {
  /** The node binary, absolute. */
  node: string;
  /** nodal's bin/nodal.cjs, absolute. */
  bin: string;
  /** NODAL_HOME, absolute. */
  home: string;
}

/** The paths of this nodal, this node and this NODAL_HOME. */
export function currentPaths(): UnitPaths {
  return { node: process.execPath, bin: join(NODAL_ROOT, "bin", "nodal.cjs"), home: resolve(nodalHome()) };
}

/** The unit: a one-shot `nodal resurrect` when the user's service manager starts. */
export function unitText(p: UnitPaths): string {
  return [
    "[Unit]",
    "Description=nodal: start deployed apps again (nodal resurrect)",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `Environment=${unitWord(`NODAL_HOME=${p.home}`)}`,
    `ExecStart=${unitWord(p.node, true)} ${unitWord(p.bin, true)} resurrect`,
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

/** The commands that install the written unit, and lingering (so it runs at boot, not at login). */
export function installCommands(user: string): string[][] {
  return [
    ["systemctl", "--user", "daemon-reload"],
    ["systemctl", "--user", "enable", UNIT_NAME],
    ["loginctl", "enable-linger", user],
  ];
}

type Execa = typeof import("execa").execa;
interface Ran {
  ok: boolean;
  out: string;
  why: string;
}

async function run(execa: Execa, [cmd, ...args]: string[]): Promise<Ran> {
  const r = await execa(cmd!, args, { reject: false, stdin: "ignore" });
  const out = `${r.stdout}`.trim();
  const err = `${r.stderr}`.trim().split("\n").at(-1) ?? "";
  const why = (r as { code?: string }).code === "ENOENT" ? `${cmd} is not installed` : err || (r.shortMessage ?? `exit code ${r.exitCode}`);
  return { ok: !r.failed && r.exitCode === 0, out, why };
}

/** Why systemd user units cannot be installed here, or undefined when they can. */
async function systemdMissing(execa: Execa): Promise<string | undefined> {
  // Reaches the user's service manager: fails without systemctl, or without a user bus (containers).
  const probe = await run(execa, ["systemctl", "--user", "show-environment"]);
  return probe.ok ? undefined : probe.why;
}

function printed(path: string, unit: string, user: string): string {
  const cmds = installCommands(user).map((c) => `  ${c.join(" ")}`);
  return [`Unit file ${path}:`, "", unit, "Save it there, then run:", ...cmds, ""].join("\n");
}

/**
 * `nodal startup [--print]`: writes the unit, reloads and enables it, and turns lingering on
 * (or says the one command that does). With `--print`, or where systemd cannot be reached
 * (said why), shows the unit and the commands and installs nothing.
 */
export async function startup(opts: { print: boolean }): Promise<number> {
  const path = unitPath();
  const unit = unitText(currentPaths());
  const user = userInfo().username;
  if (opts.print) {
    stdout.write(printed(path, unit, user));
    return 0;
  }
  const { execa } = await import("execa");
  const missing = await systemdMissing(execa);
  if (missing) {
    stdout.write(`systemd user units are not available here (${missing}); nothing was installed. To install by hand:\n\n`);
    stdout.write(printed(path, unit, user));
    return 0;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, unit);
  stdout.write(`${style("green", "✓")} Wrote ${path}\n`);
  const [reload, enable, linger] = installCommands(user) as [string[], string[], string[]];
  for (const cmd of [reload, enable]) {
    const r = await run(execa, cmd);
    if (!r.ok) throw new UserError("E_INVALID_STATE", `\`${cmd.join(" ")}\` failed: ${r.why}`, "`nodal startup --print` shows the unit and the commands to install it by hand");
    stdout.write(`${style("green", "✓")} ${cmd.join(" ")}\n`);
  }
  const lingering = await run(execa, ["loginctl", "show-user", user, "--property=Linger", "--value"]);
  if (lingering.ok && lingering.out === "yes") stdout.write(`${style("green", "✓")} lingering is on for ${user}: the unit runs at boot\n`);
  else {
    const r = await run(execa, linger);
    if (r.ok) stdout.write(`${style("green", "✓")} ${linger.join(" ")}\n`);
    else {
      stdout.write(`${style("yellow", "!")} lingering is off (${r.why}): apps come back when ${user} logs in, not at boot. To start them at boot:\n  sudo ${linger.join(" ")}\n`);
    }
  }
  stdout.write("Deployed apps now come back after a reboot; apps stopped on purpose stay stopped. `nodal unstartup` removes this.\n");
  return 0;
}

/** `nodal unstartup`: disables and removes the unit (lingering is left as it is). */
export async function unstartup(): Promise<number> {
  const path = unitPath();
  if (!existsSync(path)) {
    stdout.write(`No ${UNIT_NAME} at ${path}: nothing to remove.\n`);
    return 0;
  }
  if (!readFileSync(path, "utf8").includes(" resurrect")) {
    throw new UserError("E_INVALID_STATE", `${path} was not written by \`nodal startup\``, "remove it by hand if it is no longer wanted");
  }
  const { execa } = await import("execa");
  const missing = await systemdMissing(execa);
  if (!missing) {
    const r = await run(execa, ["systemctl", "--user", "disable", UNIT_NAME]);
    if (!r.ok) throw new UserError("E_INVALID_STATE", `\`systemctl --user disable ${UNIT_NAME}\` failed: ${r.why}`);
    stdout.write(`${style("green", "✓")} systemctl --user disable ${UNIT_NAME}\n`);
  }
  rmSync(path);
  stdout.write(`${style("green", "✓")} Removed ${path}\n`);
  if (!missing) {
    await run(execa, ["systemctl", "--user", "daemon-reload"]);
    stdout.write(`${style("green", "✓")} systemctl --user daemon-reload\n`);
  } else stdout.write(`systemd user units are not available here (${missing}); only the file was removed.\n`);
  stdout.write(`Lingering is left as it was (\`loginctl disable-linger ${userInfo().username}\` turns it off).\n`);
  return 0;
}
