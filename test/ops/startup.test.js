import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BIN, sandbox } from "../helpers.js";

const user = userInfo().username;

function expectedUnit(home) {
  return `[Unit]
Description=nodal: start deployed apps again (nodal resurrect)

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=NODAL_HOME=${home}
ExecStart=${process.execPath} ${BIN} resurrect

[Install]
WantedBy=default.target
`;
}

function printed(box) {
  return `Unit file ${join(box.dir, "config", "systemd", "user", "nodal.service")}:

${expectedUnit(box.home)}
Save it there, then run:
  systemctl --user daemon-reload
  systemctl --user enable nodal.service
  loginctl enable-linger ${user}
`;
}

/**
 * systemctl and loginctl stand-ins first on PATH: each logs its arguments and answers as a
 * user manager would. `linger`: what `loginctl show-user --property=Linger` says.
 */
function fakeSystemd(box, { linger = "no", lingerFails = false, noBus = false } = {}) {
  const log = join(box.dir, "calls.log");
  const script = (name, body) => `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`;
  box.write({
    "fakebin/systemctl": script("systemctl", noBus ? 'echo "Failed to connect to bus: No medium found" >&2; exit 1' : "exit 0"),
    "fakebin/loginctl": script(
      "loginctl",
      `case "$1" in show-user) echo ${linger};; enable-linger) ${lingerFails ? 'echo "Could not enable linger: Access denied" >&2; exit 1' : "exit 0"};; esac`,
    ),
  });
  chmodSync(join(box.dir, "fakebin/systemctl"), 0o755);
  chmodSync(join(box.dir, "fakebin/loginctl"), 0o755);
  return { env: { PATH: `${join(box.dir, "fakebin")}:${process.env.PATH}` }, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

test("startup --print shows the unit and the commands, and installs nothing", async (t) => {
  const box = sandbox(t);
  const env = { XDG_CONFIG_HOME: join(box.dir, "config") };
  const res = await box.run(["startup", "--print"], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, printed(box));
  assert.equal(existsSync(join(box.dir, "config")), false);
});

test("without a reachable systemd, startup prints the unit with the reason and installs nothing", async (t) => {
  const box = sandbox(t);
  // No user bus (as in a container), or no systemctl at all: either way it says why.
  const env = { XDG_CONFIG_HOME: join(box.dir, "config"), PATH: join(box.dir, "empty-path"), XDG_RUNTIME_DIR: "", DBUS_SESSION_BUS_ADDRESS: "" };
  const res = await box.run(["startup"], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, `systemd user units are not available here (systemctl is not installed); nothing was installed. To install by hand:\n\n${printed(box)}`);
  assert.equal(existsSync(join(box.dir, "config")), false);
});

test("with systemctl but no user bus (a container), startup prints the unit with the reason", async (t) => {
  const box = sandbox(t);
  const fake = fakeSystemd(box, { noBus: true });
  const res = await box.run(["startup"], { env: { ...fake.env, XDG_CONFIG_HOME: join(box.dir, "config") } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, `systemd user units are not available here (Failed to connect to bus: No medium found); nothing was installed. To install by hand:\n\n${printed(box)}`);
  assert.deepEqual(fake.calls(), ["systemctl --user show-environment"]);
  assert.equal(existsSync(join(box.dir, "config")), false);
});

test("startup writes the unit, reloads and enables it, turns lingering on; unstartup disables and removes it", async (t) => {
  const box = sandbox(t);
  const fake = fakeSystemd(box);
  const env = { ...fake.env, XDG_CONFIG_HOME: join(box.dir, "config") };
  const unit = join(box.dir, "config", "systemd", "user", "nodal.service");
  const res = await box.run(["startup"], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(readFileSync(unit, "utf8"), expectedUnit(box.home));
  assert.deepEqual(fake.calls(), [
    "systemctl --user show-environment",
    "systemctl --user daemon-reload",
    "systemctl --user enable nodal.service",
    `loginctl show-user ${user} --property=Linger --value`,
    `loginctl enable-linger ${user}`,
  ]);
  assert.equal(
    res.stdout,
    `✓ Wrote ${unit}
✓ systemctl --user daemon-reload
✓ systemctl --user enable nodal.service
✓ loginctl enable-linger ${user}
Deployed apps now come back after a reboot; apps stopped on purpose stay stopped. \`nodal unstartup\` removes this.
`,
  );

  const un = await box.run(["unstartup"], { env });
  assert.equal(un.code, 0, un.stderr);
  assert.equal(existsSync(unit), false);
  assert.deepEqual(fake.calls().slice(5), ["systemctl --user show-environment", "systemctl --user disable nodal.service", "systemctl --user daemon-reload"]);
  assert.match(un.stdout, new RegExp(`✓ Removed ${unit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`));

  const again = await box.run(["unstartup"], { env });
  assert.equal(again.code, 0);
  assert.equal(again.stdout, `No nodal.service at ${unit}: nothing to remove.\n`);
});

test("where lingering may not be turned on, startup says the one command that does it", async (t) => {
  const box = sandbox(t);
  const fake = fakeSystemd(box, { lingerFails: true });
  const res = await box.run(["startup"], { env: { ...fake.env, XDG_CONFIG_HOME: join(box.dir, "config") } });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, new RegExp(`! lingering is off \\(Could not enable linger: Access denied\\): apps come back when ${user} logs in, not at boot\\. To start them at boot:\n  sudo loginctl enable-linger ${user}\n`));
});
