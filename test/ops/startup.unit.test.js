import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { installCommands, unitPath, unitText, unitWord } from "../../dist/modules/ops/startup.js";

test("the unit runs `nodal resurrect` once when the user's service manager starts", () => {
  const unit = unitText({ node: "/usr/bin/node", bin: "/opt/nodal/bin/nodal.cjs", home: "/home/ada/.nodal" });
  assert.equal(
    unit,
    `[Unit]
Description=nodal: start deployed apps again (nodal resurrect)

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=NODAL_HOME=/home/ada/.nodal
ExecStart=/usr/bin/node /opt/nodal/bin/nodal.cjs resurrect

[Install]
WantedBy=default.target
`,
  );
  assert.deepEqual(installCommands("ada"), [
    ["systemctl", "--user", "daemon-reload"],
    ["systemctl", "--user", "enable", "nodal.service"],
    ["loginctl", "enable-linger", "ada"],
  ]);
});

test("paths with spaces, quotes, % and $ are quoted as systemd reads them", () => {
  assert.equal(unitWord("/opt/my apps/node"), '"/opt/my apps/node"');
  assert.equal(unitWord('/a"b\\c d'), '"/a\\"b\\\\c d"');
  assert.equal(unitWord("/data/100%"), "/data/100%%");
  assert.equal(unitWord("/x/$HOME", true), "/x/$$HOME");
  assert.equal(unitWord("NODAL_HOME=/x/$HOME"), "NODAL_HOME=/x/$HOME");
  const unit = unitText({ node: "/opt/my apps/node", bin: "/b/nodal.cjs", home: "/h/my home" });
  assert.match(unit, /^Environment="NODAL_HOME=\/h\/my home"$/m);
  assert.match(unit, /^ExecStart="\/opt\/my apps\/node" \/b\/nodal.cjs resurrect$/m);
});

test("the unit goes under XDG_CONFIG_HOME when it is set (absolute), else ~/.config", () => {
  assert.equal(unitPath({ XDG_CONFIG_HOME: "/tmp/cfg" }), "/tmp/cfg/systemd/user/nodal.service");
  assert.equal(unitPath({}), join(homedir(), ".config", "systemd", "user", "nodal.service"));
  assert.equal(unitPath({ XDG_CONFIG_HOME: "relative" }), join(homedir(), ".config", "systemd", "user", "nodal.service"));
});

const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));

test("the unit passes systemd-analyze verify", { skip: analyze ? false : "systemd-analyze is not installed on this machine" }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nodal-unit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "nodal.service");
  const bin = join(import.meta.dirname, "..", "..", "bin", "nodal.cjs");
  writeFileSync(file, unitText({ node: process.execPath, bin, home: join(dir, "home") }));
  // System mode: `--user` needs a user manager's runtime directory, which a container lacks;
  // the checks of a unit's own text (sections, keys, executables) are the same.
  const run = (f) => {
    try {
      return { code: 0, out: execFileSync(analyze, ["verify", f], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
    } catch (error) {
      return { code: error.status, out: `${error.stdout}${error.stderr}` };
    }
  };
  const good = run(file);
  assert.equal(good.code, 0, good.out);
  assert.doesNotMatch(good.out, /nodal\.service/, good.out);
  // The check can fail: a unit naming a missing executable does.
  const bad = join(dir, "broken.service");
  writeFileSync(bad, unitText({ node: join(dir, "no-node"), bin, home: dir }));
  const broken = run(bad);
  assert.notEqual(broken.code, 0);
  assert.match(broken.out, /no-node/);
});
