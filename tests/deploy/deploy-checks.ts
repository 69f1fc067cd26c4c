/**
 * Static checks of the deploy files (no Docker engine on the project's machines: STACK.md). Each function returns
 * the list of problems it found, so a test can show both that the real file passes and that a broken copy fails.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import addFormats from "ajv-formats";
import { validate as validateDockerfileSyntax } from "dockerfile-utils";
import { parse as parseYaml } from "yaml";
import { composeVariableOf, deployTargets, type DeployTarget } from "../../scripts/deploy-spec.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);

/** Ports of the deployables, from the one list (scripts/topology.ts over the port table of packages/config). */
export const SERVICE_PORTS: Record<string, number> = Object.fromEntries(deployTargets().map((t) => [t.name, t.port]));

/** The subgraph folders under subgraphs/. */
export function subgraphNames(root = ROOT): string[] {
  return readdirSync(path.join(root, "subgraphs"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export const readRepoFile = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");

// ---------------------------------------------------------------------------------------------------------------
// docker-compose.yml
// ---------------------------------------------------------------------------------------------------------------

/** The parts of a compose file the semantic checks read (the schema check covers the rest). */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}
export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string; args?: Record<string, string> | string[] };
  ports?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
  [key: string]: unknown;
}

/** Parses compose YAML the way Compose does (anchors, aliases and `<<` merge keys resolved). */
export function parseCompose(text: string): ComposeFile {
  return parseYaml(text, { merge: true, maxAliasCount: -1 }) as ComposeFile;
}

let composeValidator: ReturnType<Ajv["compile"]> | undefined;

/** Validates against the compose-spec JSON schema shipped in the `dclint` package. */
export function composeSchemaErrors(compose: unknown): ErrorObject[] {
  if (!composeValidator) {
    const schemaPath = path.join(path.dirname(require.resolve("dclint/package.json")), "schemas", "compose.schema.json");
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as Record<string, unknown>;
    // The file names its draft-07 meta-schema by an https URI Ajv does not register; draft-07 is Ajv's default.
    delete schema["$schema"];
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    composeValidator = ajv.compile(schema);
  }
  return composeValidator(compose) ? [] : [...(composeValidator.errors ?? [])];
}

function dependsOn(service: ComposeService): Record<string, string> {
  const deps = service.depends_on;
  if (!deps) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, "service_started"]));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition ?? "service_started"]));
}

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (!env) return {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split("=")[0] ?? e, e.split("=").slice(1).join("=")]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? "" : String(v)]));
}

function buildArgs(service: ComposeService): Record<string, string> {
  const build = service.build;
  if (!build || typeof build === "string" || !build.args) return {};
  if (Array.isArray(build.args)) return Object.fromEntries(build.args.map((a) => [a.split("=")[0] ?? a, a.split("=").slice(1).join("=")]));
  return Object.fromEntries(Object.entries(build.args).map(([k, v]) => [k, String(v)]));
}

/** Published host ports of a service (short "host:container" syntax and long syntax). */
function publishedPorts(service: ComposeService): Array<{ host: string; container: string }> {
  if (!Array.isArray(service.ports)) return [];
  return service.ports.map((p: unknown) => {
    if (typeof p === "object" && p !== null) {
      const long = p as { published?: string | number; target?: string | number };
      return { host: String(long.published ?? ""), container: String(long.target ?? "") };
    }
    const parts = String(p).split("/")[0]!.split(":");
    return { host: parts.length > 1 ? parts[parts.length - 2]! : "", container: parts[parts.length - 1]! };
  });
}

/** A one-shot job (awaited with service_completed_successfully): it needs no healthcheck. */
function oneShotServices(compose: ComposeFile): Set<string> {
  const names = new Set<string>();
  for (const service of Object.values(compose.services)) {
    for (const [name, condition] of Object.entries(dependsOn(service))) {
      if (condition === "service_completed_successfully") names.add(name);
    }
  }
  return names;
}

/** Cross-references the schema cannot express. */
export function composeSemanticProblems(compose: ComposeFile, subgraphs: string[] = subgraphNames()): string[] {
  const problems: string[] = [];
  const services = compose.services ?? {};
  const names = new Set(Object.keys(services));
  const oneShot = oneShotServices(compose);

  for (const [name, service] of Object.entries(services)) {
    const hasHealthcheck = !!service.healthcheck?.test && !service.healthcheck.disable;
    if (!hasHealthcheck && !oneShot.has(name)) problems.push(`${name}: no healthcheck`);
    for (const [target, condition] of Object.entries(dependsOn(service))) {
      if (!names.has(target)) {
        problems.push(`${name}: depends_on unknown service '${target}'`);
        continue;
      }
      if (condition === "service_healthy" && !services[target]!.healthcheck?.test) {
        problems.push(`${name}: waits for '${target}' to be healthy but it has no healthcheck`);
      }
      if (oneShot.has(target) && condition !== "service_completed_successfully") {
        problems.push(`${name}: one-shot '${target}' must be awaited with service_completed_successfully`);
      }
    }
  }

  const seen = new Map<string, string>();
  for (const [name, service] of Object.entries(services)) {
    for (const { host } of publishedPorts(service)) {
      if (!host) continue;
      if (seen.has(host)) problems.push(`host port ${host} published by both ${seen.get(host)} and ${name}`);
      seen.set(host, name);
    }
  }

  const gateway = services["gateway"];
  if (!gateway) problems.push("no gateway service");
  for (const subgraph of subgraphs) {
    const service = services[subgraph];
    if (!service) {
      problems.push(`subgraphs/${subgraph} has no service`);
      continue;
    }
    const port = String(SERVICE_PORTS[subgraph] ?? "");
    const env = environment(service);
    if (buildArgs(service)["SERVICE"] !== `subgraphs/${subgraph}`)
      problems.push(`${subgraph}: build arg SERVICE is not subgraphs/${subgraph}`);
    if (env["PORT"] !== port) problems.push(`${subgraph}: PORT is not ${port}`);
    if (!publishedPorts(service).some((p) => p.host === port && p.container === port))
      problems.push(`${subgraph}: does not publish ${port}:${port}`);
    const db = `ecom_${subgraph}`;
    if (env["DATABASE_URL"] !== `postgres://${db}:${db}@postgres:5432/${db}`) problems.push(`${subgraph}: unexpected DATABASE_URL`);
    problems.push(...specProblems(subgraph, env), ...stopGraceProblems(subgraph, service));
    if (gateway) {
      if (dependsOn(gateway)[subgraph] !== "service_healthy") problems.push(`gateway: does not wait for ${subgraph} to be healthy`);
      const variable = `SUBGRAPH_${subgraph.toUpperCase()}_URL`;
      if (environment(gateway)[variable] !== `http://${subgraph}:${port}/graphql`) problems.push(`gateway: ${variable} is wrong`);
    }
  }
  if (gateway) problems.push(...specProblems("gateway", environment(gateway)), ...stopGraceProblems("gateway", gateway));
  return problems;
}

/**
 * Compose SIGKILLs a service `stop_grace_period` after SIGTERM (10s by default): that must outlast the process's
 * own forced exit, SHUTDOWN_DELAY + DRAIN_TIMEOUT (defaults 0s and 10s unless set) + 5s.
 */
function stopGraceProblems(name: string, service: ComposeService): string[] {
  const seconds = (v: unknown, fallback: number) => {
    const m = /^(\d+)(ms|s|m)?$/.exec(String(v ?? ""));
    return m ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2] ?? "s"]! : fallback;
  };
  const env = environment(service);
  const forcedExit = seconds(env["SHUTDOWN_DELAY"], 0) + seconds(env["DRAIN_TIMEOUT"], 10) + 5;
  const grace = seconds(service["stop_grace_period"], 10);
  return grace > forcedExit ? [] : [`${name}: stop_grace_period ${grace}s does not outlast its forced exit after ${forcedExit}s`];
}

/**
 * A compose service against the deploy spec (scripts/deploy-spec.ts), the source the manifests are generated from:
 * production mode, the same port, every secret variable it reads set from the operator's environment (`${VAR:?}`,
 * never a literal), and the URL of every deployable it calls.
 */
export function specProblems(name: string, env: Record<string, string>, targets: DeployTarget[] = deployTargets()): string[] {
  const target = targets.find((t) => t.name === name);
  if (!target) return [`${name}: not a deployable of scripts/topology.ts`];
  const problems: string[] = [];
  if (env["NODE_ENV"] !== "production") problems.push(`${name}: NODE_ENV is not production`);
  if (env["PORT"] !== String(target.port)) problems.push(`${name}: PORT is not ${target.port}`);
  for (const secret of target.secrets) {
    if (secret.variable === "DATABASE_URL") continue; // compose's own Postgres: a development URL, checked above
    const value = env[secret.variable];
    const from = composeVariableOf(secret, target.service);
    if (value === undefined) problems.push(`${name}: secret ${secret.variable} is not set`);
    else if (!value.startsWith(`\${${from}:?`)) problems.push(`${name}: secret ${secret.variable} is not taken from \${${from}:?...}`);
  }
  for (const [callee, variable] of Object.entries(target.calls)) {
    const port = targets.find((t) => t.name === callee)?.port;
    if (env[variable] !== `http://${callee}:${port}/graphql`) problems.push(`${name}: ${variable} is not http://${callee}:${port}/graphql`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------------------------

/** Syntax problems reported by dockerfile-utils (severity 1 = error, 2 = warning). */
export function dockerfileSyntaxProblems(text: string): Array<{ severity: number; message: string; line: number }> {
  return validateDockerfileSyntax(text).map((d) => ({
    severity: d.severity ?? 1,
    message: typeof d.message === "string" ? d.message : d.message.value,
    line: d.range.start.line + 1,
  }));
}

export interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order, continuation lines joined, comments dropped. */
export function dockerInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!current && (line === "" || line.startsWith("#"))) continue;
    if (current && line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  if (current) logical.push(current);
  return logical.map((l) => {
    const match = /^(\S+)\s*(.*)$/.exec(l)!;
    return { keyword: match[1]!.toUpperCase(), args: match[2]! };
  });
}

/** Policy checks: multi-stage, non-root runtime, healthcheck on /health/ready, the agreed entry point. */
export function dockerfilePolicyProblems(text: string): string[] {
  const problems: string[] = [];
  const instructions = dockerInstructions(text);
  const fromIndexes = instructions.flatMap((ins, i) => (ins.keyword === "FROM" ? [i] : []));
  if (fromIndexes.length < 2) problems.push("not a multi-stage build (fewer than two FROM)");
  const globalArgs = instructions.slice(0, fromIndexes[0] ?? 0).filter((i) => i.keyword === "ARG");
  if (!globalArgs.some((a) => /^SERVICE=gateway$/.test(a.args))) problems.push("no global ARG SERVICE=gateway");
  const nodeImage = globalArgs.map((a) => a.args).find((a) => a.startsWith("NODE_IMAGE="));
  const froms = instructions
    .filter((i) => i.keyword === "FROM")
    .map((i) => i.args.replace("${NODE_IMAGE}", nodeImage?.slice("NODE_IMAGE=".length) ?? ""));
  if (!froms.some((f) => /^node:(22|24)-bookworm-slim\b/.test(f))) problems.push("base image is not node:22/24-bookworm-slim");

  const all = instructions.map((i) => `${i.keyword} ${i.args}`);
  if (!all.some((l) => /^RUN .*\bnpm ci\b/.test(l))) problems.push("dependencies are not installed with npm ci");
  if (!all.some((l) => /^RUN .*\bnpm run generate\b/.test(l))) problems.push("Prisma clients are not generated");
  if (!all.some((l) => /^RUN .*\bnpm run build\b/.test(l))) problems.push("the service is not built");

  const final = instructions.slice(fromIndexes[fromIndexes.length - 1] ?? 0);
  const users = final.filter((i) => i.keyword === "USER").map((i) => i.args.split(":")[0]!.trim());
  const lastUser = users[users.length - 1];
  if (!lastUser) problems.push("final stage has no USER (runs as root)");
  else if (lastUser === "root" || lastUser === "0") problems.push("final stage runs as root");
  const healthcheck = final.find((i) => i.keyword === "HEALTHCHECK");
  if (!healthcheck) problems.push("final stage has no HEALTHCHECK");
  else if (!healthcheck.args.includes("/health/ready")) problems.push("HEALTHCHECK does not probe /health/ready");
  if (!final.some((i) => i.keyword === "EXPOSE")) problems.push("final stage has no EXPOSE");
  const cmd = final.filter((i) => i.keyword === "CMD").pop();
  if (!cmd || cmd.args.replace(/\s/g, "") !== '["node","dist/index.js"]') problems.push('CMD is not ["node","dist/index.js"]');
  if (final.some((i) => i.keyword === "RUN" && /npm (ci|install)(?!.*--omit=dev)/.test(i.args)))
    problems.push("final stage installs dev dependencies");
  // The image holds the traced runtime layout only (scripts/runtime-layout.ts), never a whole node_modules.
  if (!all.some((l) => /^RUN .*scripts\/runtime-layout\.ts "?\$\{SERVICE\}"? \/runtime\b/.test(l)))
    problems.push("the build stage does not assemble the runtime layout (scripts/runtime-layout.ts ${SERVICE} /runtime)");
  const copies = final.filter((i) => i.keyword === "COPY");
  if (!copies.some((c) => /--from=build\b.*\s\/runtime\/?\s+\/app\/?$/.test(c.args)))
    problems.push("final stage does not copy /runtime to /app");
  if (copies.some((c) => /node_modules/.test(c.args))) problems.push("final stage copies a node_modules folder (ship the traced layout)");
  return problems;
}

/** Names of the stages (`FROM x AS name`). */
export function dockerStages(text: string): string[] {
  return dockerInstructions(text).flatMap((i) => {
    const m = i.keyword === "FROM" ? /\bAS\s+(\S+)/i.exec(i.args) : null;
    return m ? [m[1]!] : [];
  });
}
