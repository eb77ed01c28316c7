import { defineCommand } from "./define.js";

export default defineCommand({
  path: ["export", "kubernetes"],
  args: "<file>",
  description: "write a build context and Kubernetes manifests for an app (FILE or FILE::app): Deployments, Services, CronJobs, PersistentVolumeClaims",
  options: (cmd) =>
    cmd
      .option("-o, --out <dir>", "folder to write into", "./k8s")
      .option("--image <image>", "image the manifests run (default: <app-name>:latest)")
      .option("--namespace <ns>", "metadata.namespace of every object")
      .option("--cluster [url]", "cluster mode: calls cross pods through Redis at this redis://HOST:PORT URL (without one: a Redis Deployment for trying), a Deployment per called function, KEDA ScaledObjects"),
  async run([file], opts) {
    const { parseTarget } = await import("../loader/target.js");
    const { exportKubernetes } = await import("../export/export.js");
    return exportKubernetes(parseTarget(file!), {
      out: String(opts.out).replace(/\/+$/, "") || ".",
      ...(opts.image !== undefined ? { image: opts.image } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.cluster !== undefined ? { cluster: typeof opts.cluster === "string" ? { url: opts.cluster } : {} } : {}),
    });
  },
});
