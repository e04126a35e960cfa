import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { hasExternalTool } from "../support/external-tool.js";

const DIR = resolve(import.meta.dirname, "../../deploy/kubernetes");
const KUBECTL = "/usr/bin/kubectl";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const files = readdirSync(DIR).filter((name) => name.endsWith(".yaml"));

/** Every YAML document of every file, parsed; a file that does not parse fails here. */
function documentsOf(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(join(DIR, file), "utf8"));
  if (!Array.isArray(documents)) return [];
  return documents.map((document) => {
    expect(document.errors, file).toEqual([]);
    return document.toJS();
  });
}

const manifests: Array<Manifest & { file: string }> = files
  .filter((file) => file !== "kustomization.yaml")
  .flatMap((file) => documentsOf(file).map((document) => ({ ...(document as Manifest), file })));

function one(kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  expect(found, `${kind} ${name ?? ""}`).toHaveLength(1);
  return found[0] as Manifest;
}

/**
 * The model class of @kubernetes/client-node for a built-in kind (`apps/v1` `Deployment` →
 * V1Deployment), or undefined for a custom resource (cert-manager's).
 */
function modelOf(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split("/").at(-1) ?? "";
  const name = `${version[0]?.toUpperCase()}${version.slice(1)}${kind}`;
  return name in k8s ? name : undefined;
}

type AttributeMap = Array<{ baseName: string; type: string }>;

/**
 * What in `value` does not fit the Kubernetes API type `type`, by the generated models'
 * attribute maps: a field the type does not have (a typo Kubernetes would drop silently or
 * refuse) or a value of the wrong JSON type.
 */
function misfits(value: unknown, type: string, path: string): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [`${path} must be a list`];
    return value.flatMap((item, i) => misfits(item, array[1] ?? "any", `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (value === null || typeof value !== "object") return [`${path} must be a map`];
    return Object.entries(value).flatMap(([key, item]) => misfits(item, map[1] ?? "any", `${path}.${key}`));
  }
  switch (type) {
    case "any":
      return [];
    case "string":
    case "Date":
      return typeof value === "string" ? [] : [`${path} must be a string`];
    case "number":
      return typeof value === "number" ? [] : [`${path} must be a number`];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${path} must be a boolean`];
    case "IntOrString":
      return typeof value === "number" || typeof value === "string"
        ? []
        : [`${path} must be a number or string`];
  }
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap }>)[type];
  const attributes = model?.getAttributeTypeMap?.();
  if (!attributes) return [`${path}: no model ${type}`];
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return [`${path} must be an object`];
  return Object.entries(value).flatMap(([key, item]) => {
    const attribute = attributes.find((a) => a.baseName === key);
    return attribute
      ? misfits(item, attribute.type, `${path}.${key}`)
      : [`${path}.${key} is not a field of ${type}`];
  });
}

describe("deploy/kubernetes", () => {
  it("parses: every YAML file, every document, with no error", () => {
    expect(files.length).toBeGreaterThan(5);
    expect(manifests.every((m) => typeof m.apiVersion === "string" && typeof m.kind === "string")).toBe(true);
  });

  it("lists every manifest in kustomization.yaml, and only files that exist", () => {
    const [kustomization] = documentsOf("kustomization.yaml") as Array<{ resources: string[]; kind: string }>;
    expect(kustomization?.kind).toBe("Kustomization");
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(
      files.filter((f) => f !== "kustomization.yaml").sort(),
    );
  });

  it("fits the Kubernetes API: no unknown field and no value of the wrong type in a built-in kind", () => {
    const checked: string[] = [];
    const problems = manifests.flatMap((m) => {
      const model = modelOf(m.apiVersion, m.kind);
      if (!model) return [];
      checked.push(m.kind);
      const { file, ...manifest } = m;
      return misfits(manifest, model, `${file}:${m.kind}`);
    });
    expect(problems).toEqual([]);
    expect(checked.sort()).toEqual(
      [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Namespace",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
        "ValidatingWebhookConfiguration",
      ].sort(),
    );
  });

  describe("the ValidatingWebhookConfiguration", () => {
    const configuration = one("ValidatingWebhookConfiguration") as Manifest & {
      webhooks: Array<Record<string, unknown>>;
    };
    const webhook = configuration.webhooks[0] as {
      name: string;
      admissionReviewVersions: string[];
      sideEffects: string;
      timeoutSeconds: number;
      failurePolicy: string;
      matchPolicy: string;
      objectSelector: { matchExpressions: Array<{ key: string; operator: string }> };
      rules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }>;
      clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
    };

    it("is one webhook of AdmissionReview v1 with no side effects, so dry runs reach it", () => {
      expect(configuration.apiVersion).toBe("admissionregistration.k8s.io/v1");
      expect(configuration.webhooks).toHaveLength(1);
      expect(webhook.admissionReviewVersions).toEqual(["v1"]);
      expect(webhook.sideEffects).toBe("None");
      expect(webhook.name).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/);
    });

    it("is sent only workloads labelled tenure.dev/model", () => {
      expect(webhook.objectSelector).toEqual({
        matchExpressions: [{ key: "tenure.dev/model", operator: "Exists" }],
      });
    });

    it("judges CREATE and UPDATE of Deployments, StatefulSets and KServe InferenceServices, nothing else", () => {
      const covered = webhook.rules.flatMap((rule) =>
        rule.apiGroups.flatMap((group) =>
          rule.apiVersions.flatMap((version) =>
            rule.resources.map(
              (resource) => `${group}/${version}/${resource} ${[...rule.operations].sort().join(",")}`,
            ),
          ),
        ),
      );
      expect(covered.sort()).toEqual([
        "apps/v1/deployments CREATE,UPDATE",
        "apps/v1/statefulsets CREATE,UPDATE",
        "serving.kserve.io/v1beta1/inferenceservices CREATE,UPDATE",
      ]);
      expect(webhook.matchPolicy).toBe("Equivalent");
    });

    it("waits at most a few seconds, within Kubernetes' 10 s default", () => {
      expect(webhook.timeoutSeconds).toBeGreaterThanOrEqual(1);
      expect(webhook.timeoutSeconds).toBeLessThan(10);
    });

    it("sets a failurePolicy, with a comment that documents both Fail and Ignore", () => {
      expect(["Fail", "Ignore"]).toContain(webhook.failurePolicy);
      const text = readFileSync(join(DIR, "validating-webhook.yaml"), "utf8").split("\n");
      const at = text.findIndex((line) => /^\s*failurePolicy:/.test(line));
      const comment: string[] = [];
      for (let i = at - 1; i >= 0 && /^\s*#/.test(text[i] ?? ""); i--) comment.unshift(text[i] ?? "");
      const said = comment.join("\n");
      expect(said).toMatch(/#\s+Fail\s+- /);
      expect(said).toMatch(/#\s+Ignore\s+- /);
    });

    it("calls the Service's port at /k8s/admission", () => {
      const service = one("Service", webhook.clientConfig.service.name) as Manifest & {
        spec: { ports: Array<{ port: number; targetPort: string | number }> };
      };
      expect(webhook.clientConfig.service).toMatchObject({
        namespace: service.metadata.namespace,
        path: "/k8s/admission",
      });
      expect(service.spec.ports.map((p) => p.port)).toContain(webhook.clientConfig.service.port);
    });

    it("trusts the CA of a Certificate for the Service's DNS name, which cert-manager injects", () => {
      const reference = configuration.metadata.annotations?.["cert-manager.io/inject-ca-from"] ?? "";
      const [namespace, name] = reference.split("/");
      const certificate = one("Certificate", name) as Manifest & {
        spec: { dnsNames: string[]; secretName: string };
      };
      expect(certificate.metadata.namespace).toBe(namespace);
      const { name: service, namespace: serviceNamespace } = webhook.clientConfig.service;
      expect(certificate.spec.dnsNames).toContain(`${service}.${serviceNamespace}.svc`);
    });
  });

  describe("the Deployment", () => {
    const deployment = one("Deployment", "tenure") as Manifest & {
      spec: {
        replicas: number;
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            serviceAccountName: string;
            containers: Array<{
              command: string[];
              args: string[];
              ports: Array<{ name: string; containerPort: number }>;
              volumeMounts: Array<{ name: string; mountPath: string }>;
            }>;
            volumes: Array<{ name: string; secret?: { secretName: string } }>;
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];

    it("runs tenure serve with the admission webhook on, over HTTPS from the certificate's Secret", () => {
      expect(container?.command).toEqual(["tenure"]);
      const args = container?.args ?? [];
      expect(args[0]).toBe("serve");
      expect(args).toContain("--k8s-admission");
      const flag = (name: string) => args.find((a) => a.startsWith(`${name}=`))?.split("=")[1] ?? "";
      const certificate = one("Certificate") as Manifest & { spec: { secretName: string } };
      const volume = pod.volumes.find((v) => v.secret?.secretName === certificate.spec.secretName);
      const mount = container?.volumeMounts.find((m) => m.name === volume?.name);
      expect(mount).toBeDefined();
      expect(flag("--tls-cert")).toBe(`${mount?.mountPath}/tls.crt`);
      expect(flag("--tls-key")).toBe(`${mount?.mountPath}/tls.key`);
      expect(flag("--host")).toBe("0.0.0.0");
    });

    it("listens where the Service sends, and the Service selects its pods", () => {
      const service = one("Service", "tenure") as Manifest & {
        spec: { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> };
      };
      const port = container?.ports.find((p) => p.name === service.spec.ports[0]?.targetPort);
      expect(port?.containerPort).toBe(
        Number((container?.args ?? []).find((a) => a.startsWith("--port="))?.slice(7)),
      );
      expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    });

    it("runs more than one replica, kept by a PodDisruptionBudget, when the failurePolicy is Fail", () => {
      expect(deployment.spec.replicas).toBeGreaterThan(1);
      const budget = one("PodDisruptionBudget") as Manifest & {
        spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      };
      expect(budget.spec.minAvailable).toBeGreaterThanOrEqual(1);
      expect(deployment.spec.template.metadata.labels).toMatchObject(budget.spec.selector.matchLabels);
    });
  });

  describe("the ServiceAccount and RBAC", () => {
    it("binds the Deployment's ServiceAccount to read-only access to the three kinds of workload", () => {
      const deployment = one("Deployment", "tenure") as Manifest & {
        spec: { template: { spec: { serviceAccountName: string } } };
      };
      const account = one("ServiceAccount", deployment.spec.template.spec.serviceAccountName);
      const role = one("ClusterRole") as Manifest & {
        rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
      };
      const binding = one("ClusterRoleBinding") as Manifest & {
        roleRef: { kind: string; name: string };
        subjects: Array<{ kind: string; name: string; namespace: string }>;
      };
      expect(binding.roleRef).toMatchObject({ kind: "ClusterRole", name: role.metadata.name });
      expect(binding.subjects).toEqual([
        { kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace },
      ]);
      const granted = role.rules.flatMap((rule) =>
        rule.apiGroups.flatMap((group) => rule.resources.map((resource) => `${group}/${resource}`)),
      );
      expect(granted.sort()).toEqual([
        "apps/deployments",
        "apps/statefulsets",
        "serving.kserve.io/inferenceservices",
      ]);
      for (const rule of role.rules) expect([...rule.verbs].sort()).toEqual(["get", "list", "watch"]);
      expect(
        manifests
          .filter((m) => /Role/.test(m.kind))
          .map((m) => m.kind)
          .sort(),
      ).toEqual(["ClusterRole", "ClusterRoleBinding"]);
    });
  });

  // Skipped with one line where kubectl is not installed; under CI=true .ci/run installs Debian's
  // kubernetes-client when the machine has no kubectl.
  describe.runIf(hasExternalTool(KUBECTL, "apt-get install kubernetes-client"))("built by kubectl", () => {
    it("builds with `kubectl kustomize`, Helm-free, into every manifest with the image named", () => {
      const built = execFileSync(KUBECTL, ["kustomize", DIR], { encoding: "utf8" });
      const kinds = parseAllDocuments(built)
        .map((document) => (document.toJS() as Manifest).kind)
        .sort();
      expect(kinds).toEqual(manifests.map((m) => m.kind).sort());
      expect(built).toMatch(/image: \S+\/tenure:\S+/);
    });
  });
});
