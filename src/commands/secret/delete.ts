import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["secret", "delete"],
  args: "<name>",
  description: "delete a secret (asks first; --yes when there is no terminal)",
  options: (cmd) => cmd.option("-y, --yes", "delete without asking"),
  async run([name], opts) {
    const { confirmDelete } = await import("../confirm.js");
    const { deleteSecret, notFound, readInfo, secretName } = await import("../../registry/secrets.js");
    secretName(name!);
    if (!readInfo(name!)) throw notFound(name!);
    await confirmDelete(`secret "${name}"`, `nodal secret delete ${name}`, opts.yes === true);
    if (!deleteSecret(name!)) throw notFound(name!);
    stdout.write(`✓ Deleted secret "${name}"\n`);
  },
});
