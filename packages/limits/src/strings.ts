import { BREAK, visit, type DocumentNode } from "graphql";
import { badUserInput } from "@ecom/errors";
import type { GraphQLError } from "graphql";

// A NUL, or a high surrogate not followed by a low one, or a low one not preceded by a high one. Postgres refuses
// NUL in text ("invalid byte sequence"), and an unpaired surrogate has no UTF-8 encoding at all.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const ILL_FORMED = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `text` contains a NUL character or an unpaired UTF-16 surrogate. */
export function isIllFormedString(text: string): boolean {
  return ILL_FORMED.test(text);
}

/**
 * The path (`input.name`, `ids.2`) of the first string in `value` (a variables object as JSON parsed it) holding a
 * NUL or an unpaired surrogate; undefined when there is none. A loop over an explicit stack: a variable nested
 * 100,000 levels deep is walked without recursion.
 */
export function findIllFormedValue(value: unknown, root = ""): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: root }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const current = item.value;
    if (typeof current === "string") {
      if (ILL_FORMED.test(current)) return item.path;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: join(item.path, String(i)) });
    } else if (typeof current === "object" && current !== null) {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: join(item.path, entries[i]![0]) });
    }
  }
  return undefined;
}

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

/**
 * The argument of `document` (its operations and fragments) whose string literal holds a NUL or an unpaired
 * surrogate; undefined when there is none. Depends on the document alone, so a caller may keep the answer per
 * document (the Apollo plugin does: a document seen before is checked once, not on every request).
 */
export function illFormedLiteralArgument(document: DocumentNode): string | undefined {
  let argument: string | undefined;
  // graphql-js's visit is iterative; literals are shallow anyway once the nesting limit has run.
  visit(document, {
    Argument(node) {
      let bad = false;
      visit(node.value, {
        StringValue(value) {
          if (ILL_FORMED.test(value.value)) {
            bad = true;
            return BREAK;
          }
          return undefined;
        },
      });
      if (bad) {
        argument = node.name.value;
        return BREAK;
      }
      return false;
    },
  });
  return argument;
}

/**
 * BAD_USER_INPUT when a variable or a string literal of `document` (its operations and fragments) holds a NUL or an
 * unpaired surrogate (they would fail in Postgres as a 500, or be silently replaced); null otherwise.
 * `extensions.field` names the variable path or the argument. `literalArgument` is what
 * {@link illFormedLiteralArgument} said of this document, when the caller keeps it.
 */
export function illFormedInputError(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  literalArgument: (document: DocumentNode) => string | undefined = illFormedLiteralArgument,
): GraphQLError | null {
  const variablePath = variables ? findIllFormedValue(variables) : undefined;
  if (variablePath !== undefined) return illFormed(variablePath);
  const argument = literalArgument(document);
  return argument === undefined ? null : illFormed(argument);
}

const illFormed = (field: string) =>
  badUserInput(`${field} contains a NUL character or an unpaired UTF-16 surrogate, which no text field accepts.`, { field });
