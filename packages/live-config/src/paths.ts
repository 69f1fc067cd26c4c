/**
 * Dotted paths into plain JSON documents (`canary.products.weight`), and the differences between two documents as
 * a list of leaf paths. Hand-written: a dozen lines over plain objects, where a library (lodash.get/set, a JSON
 * patch package) would bring semantics (array indices, prototype keys) this configuration does not want.
 */

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };
/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

const FORBIDDEN = new Set(["__proto__", "prototype", "constructor"]);

/** A key that cannot be one (empty segment, prototype key). */
export class PathError extends Error {
  readonly brand = "PathError" as const;
}

/** Splits `a.b.c`; refuses empty segments and prototype keys. */
export function parsePath(path: string): string[] {
  const parts = path.split(".");
  if (path === "" || parts.some((p) => p === ""))
    throw new PathError(`"${path}" is not a key: use dotted names such as canary.products.weight`);
  const bad = parts.find((p) => FORBIDDEN.has(p));
  if (bad) throw new PathError(`"${bad}" cannot be part of a key`);
  return parts;
}

export const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** The value at `path` (undefined when absent). */
export function getPath(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const part of parsePath(path)) {
    if (!isObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/** A copy of `doc` with `value` at `path` (objects created on the way; `undefined` removes the key). */
export function setPath(doc: JsonObject, path: string, value: JsonValue | undefined): JsonObject {
  const parts = parsePath(path);
  const root = structuredClone(doc);
  let node: JsonObject = root;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isObject(next)) node[part] = {};
    node = node[part] as JsonObject;
  }
  const last = parts.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return prune(root);
}

/** Removes objects left empty by an unset. */
function prune(doc: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(doc)) {
    if (isObject(value)) {
      prune(value);
      if (Object.keys(value).length === 0) delete doc[key];
    }
  }
  return doc;
}

/** One difference between two documents. */
export interface Change {
  path: string;
  /** Absent: the key was added. */
  before?: unknown;
  /** Absent: the key was removed. */
  after?: unknown;
}

/** The leaf paths that differ between `a` and `b`, sorted. */
export function diffDocs(a: unknown, b: unknown, base = ""): Change[] {
  if (isObject(a) && isObject(b)) {
    const changes: Change[] = [];
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      changes.push(...diffDocs(a[key], b[key], base === "" ? key : `${base}.${key}`));
    }
    return changes;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (isObject(a) && b === undefined) return diffDocs(a, {}, base);
  if (a === undefined && isObject(b)) return diffDocs({}, b, base);
  return [{ path: base, ...(a === undefined ? {} : { before: a }), ...(b === undefined ? {} : { after: b }) }];
}
