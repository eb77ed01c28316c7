import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "create"],
  args: "<name>",
  description: "create a named, persistent volume",
  async run([name]) {
    const { UserError } = await import("../../errors.js");
    const { volumeName } = await import("./common.js");
    const { Volume } = await import("../../sdk/volume.js");
    volumeName(name!);
    (await import("../../registry/sweep.js")).sweep();
    if (!Volume.create(name!)) {
      throw new UserError("E_ALREADY_EXISTS", `volume "${name}" already exists`, `see its files with \`nodal volume ls ${name}\``);
    }
    stdout.write(
      `✓ Created volume "${name}".\n\nUse it in an app:\n` +
        `  const data = Volume.fromName(${JSON.stringify(name)});\n` +
        `  app.function({ volumes: { "/data": data } }, async () => { /* data.path */ });\n`,
    );
  },
});
