/** The README written beside the manifests: the commands that take an export to a cluster. */
import type { SecretRef } from "./manifests.js";
import { VOLUME_SIZE } from "./manifests.js";

export interface ReadmeInput {
  appName: string;
  /** The output folder as the user named it. */
  dir: string;
  image: string;
  namespace?: string;
  secrets: SecretRef[];
  kinds: string[];
  /** Whether the manifests claim volumes. */
  volumes: boolean;
}

/**
 * `kubectl create secret` for one secret: its keys, each with a placeholder (values are never
 * written). Quoted: a bare `<value>` is a shell redirection.
 */
export function secretCommand(s: SecretRef, namespace?: string): string {
  const keys = s.keys.length ? s.keys : ["KEY"];
  return `kubectl create secret generic ${s.dns}${namespace ? ` -n ${namespace}` : ""} ${keys.map((k) => `--from-literal=${k}='<value>'`).join(" ")}`;
}

export function nextCommands(r: Omit<ReadmeInput, "kinds" | "appName" | "volumes">): string[] {
  return [
    ...(r.namespace ? [`kubectl create namespace ${r.namespace}`] : []),
    `docker build -t ${r.image} ${r.dir}/context`,
    ...r.secrets.map((s) => secretCommand(s, r.namespace)),
    `kubectl apply -f ${r.dir}/manifests.yaml`,
  ];
}

export function readme(r: ReadmeInput): string {
  const sh = (lines: string[]) => ["```sh", ...lines, "```"].join("\n");
  const secretPart = r.secrets.length
    ? `
## 2. Create the secrets

Values are never written by the export; replace each \`'<value>'\`. Keys are those stored
locally (\`nodal secret list\`) and those the app requires.

${sh(r.secrets.map((s) => secretCommand(s, r.namespace)))}
`
    : "";
  return `# ${r.appName} on Kubernetes

Written by \`nodal export kubernetes\`. \`context/\` is a Docker build context (the app's
snapshot, its package files and nodal itself as a tarball); \`manifests.yaml\` is one
multi-document file: ${r.kinds.join(", ") || "no objects"}.

## 1. Build the image

Push it where the cluster pulls images from.

${sh([...(r.namespace ? [`kubectl create namespace ${r.namespace}`] : []), `docker build -t ${r.image} ${r.dir}/context`, `docker push ${r.image}`])}
${secretPart}
## ${r.secrets.length ? 3 : 2}. Apply the manifests

${sh([`kubectl apply -f ${r.dir}/manifests.yaml`])}
${r.volumes ? volumeNote : ""}${r.kinds.some((k) => k.endsWith("ScaledObject") || k.endsWith("ScaledObjects")) ? scalerNote : ""}`;
}

const scalerNote = `
The ScaledObjects need KEDA in the cluster (https://keda.sh/docs/deploy/): each scales a
function's Deployment by the length of its queue of waiting calls in Redis.
`;

const volumeNote = `
Each PersistentVolumeClaim asks for ${VOLUME_SIZE}, ReadWriteMany (pods of several functions
share a volume); edit \`storage\` and add a \`storageClassName\` that offers ReadWriteMany on your
cluster before applying.
`;
