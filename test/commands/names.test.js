import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";
import { assertUserError, snapshot } from "./asserts.js";

test("names made only of dots are refused for volumes and secrets, and nothing is written outside their folders", async (t) => {
  const box = sandbox(t);
  mkdirSync(box.home, { recursive: true, mode: 0o700 });
  const before = snapshot(box.dir);
  for (const name of ["..", ".", "..."]) {
    assertUserError(await box.run(["volume", "create", name]), new RegExp(`^Error: invalid volume name "${name.replace(/\./g, "\\.")}": .*not only dots$`, "m"));
    assertUserError(await box.run(["secret", "create", name, "K=V"]), /^Error: invalid secret name ".+": .*not only dots$/m);
  }
  // Before the rule, `volume create ..` wrote $NODAL_HOME/data and $NODAL_HOME/volume.json.
  assert.ok(!existsSync(join(box.home, "data")));
  assert.ok(!existsSync(join(box.home, "volume.json")));
  assert.ok(!existsSync(join(box.home, "..json")));
  const secrets = join(box.home, "secrets");
  assert.deepEqual(existsSync(secrets) ? readdirSync(secrets) : [], []);
  const volumes = join(box.home, "volumes");
  assert.deepEqual(existsSync(volumes) ? readdirSync(volumes) : [], []);
  // Nothing outside NODAL_HOME changed either (the sandbox dir holds it).
  const after = snapshot(box.dir);
  for (const path of Object.keys(after)) {
    if (!(path in before)) assert.ok(path.startsWith(".nodal-home/"), `written outside NODAL_HOME's folders: ${path}`);
  }
});
