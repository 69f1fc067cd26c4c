// @vitest-environment happy-dom
/**
 * The guide's pages (docs/patterns/*.md) hold together: every relative link resolves to a file in the tree (and the
 * README links the index), every ```mermaid block parses with mermaid's own parser (mermaid 11 parses on Node
 * without a browser; rendering would need one), the index lists the pages in the brief's order, and each page
 * quotes its show's output. mermaid sanitizes labels with DOMPurify, which needs a DOM: the file runs in vitest's
 * happy-dom environment (no browser).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Lexer, type Token, type Tokens } from "marked";
import mermaid from "mermaid";
import { describe, expect, it } from "vitest";
import { ROOT_DIR } from "@ecom/testing";

const DOCS = path.join(ROOT_DIR, "docs", "patterns");
const ORDER = ["splitting", "communication", "discovery", "config", "gateway", "breaker", "ratelimit", "saga", "canary"];

/** Every token of a markdown document, nested ones included (links sit inside paragraphs, tables, lists). */
function tokensOf(markdown: string): Token[] {
  const all: Token[] = [];
  const walk = (tokens: readonly Token[]) => {
    for (const t of tokens) {
      all.push(t);
      const nested = t as { tokens?: Token[]; items?: Tokens.ListItem[]; header?: Tokens.TableCell[]; rows?: Tokens.TableCell[][] };
      if (nested.tokens) walk(nested.tokens);
      if (nested.items) walk(nested.items);
      if (nested.header) walk(nested.header.flatMap((c) => c.tokens));
      if (nested.rows) walk(nested.rows.flat().flatMap((c) => c.tokens));
    }
  };
  walk(new Lexer().lex(markdown));
  return all;
}

/** The relative link targets of a document (no URL scheme, no pure #anchor), without their #anchor. */
export function relativeLinks(markdown: string): string[] {
  return tokensOf(markdown)
    .filter((t): t is Tokens.Link | Tokens.Image => t.type === "link" || t.type === "image")
    .map((t) => t.href)
    .filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith("#"))
    .map((href) => decodeURI(href.split("#")[0]!));
}

/** The links of `file` that do not resolve to a file of the tree. */
function brokenLinks(file: string, markdown = readFileSync(file, "utf8")): string[] {
  return relativeLinks(markdown).filter((href) => {
    const target = path.resolve(path.dirname(file), href);
    return !target.startsWith(ROOT_DIR) || !existsSync(target) || !statSync(target).isFile();
  });
}

const codeBlocks = (markdown: string, lang: string) =>
  tokensOf(markdown)
    .filter((t): t is Tokens.Code => t.type === "code" && t.lang === lang)
    .map((t) => t.text);

const pages = readdirSync(DOCS)
  .filter((f) => f.endsWith(".md"))
  .sort();

describe("docs/patterns", () => {
  it("has the index and one page per pattern, and the index links them in the brief's order", () => {
    expect(pages).toEqual(["index.md", ...ORDER.map((p) => `${p}.md`)].sort());
    const linked = relativeLinks(readFileSync(path.join(DOCS, "index.md"), "utf8")).filter((l) => ORDER.includes(l.replace(/\.md$/, "")));
    expect(linked).toEqual(ORDER.map((p) => `${p}.md`));
  });

  it("is linked from the README", () => {
    const readme = path.join(ROOT_DIR, "README.md");
    const targets = relativeLinks(readFileSync(readme, "utf8")).map((l) => path.resolve(ROOT_DIR, l));
    expect(targets).toContain(path.join(DOCS, "index.md"));
    expect(brokenLinks(readme).filter((l) => l.startsWith("docs/patterns"))).toEqual([]);
  });

  it.each(pages)("%s: every relative link resolves to a file in the tree", (page) => {
    const file = path.join(DOCS, page);
    expect(relativeLinks(readFileSync(file, "utf8")).length).toBeGreaterThan(0);
    expect(brokenLinks(file)).toEqual([]);
  });

  it.each(pages.filter((p) => p !== "index.md"))("%s: has a diagram that mermaid parses and quotes its show's output", async (page) => {
    const markdown = readFileSync(path.join(DOCS, page), "utf8");
    const diagrams = codeBlocks(markdown, "mermaid");
    expect(diagrams.length).toBeGreaterThan(0);
    for (const diagram of diagrams) await expect(mermaid.parse(diagram)).resolves.toBeTruthy();
    const pattern = page.replace(/\.md$/, "");
    expect(markdown).toContain(`npm run show -- ${pattern}`);
    const samples = codeBlocks(markdown, "text");
    expect(
      samples.some((s) => s.includes(`== ${pattern}:`) || s.includes("not available:")),
      "a sample of the show's output",
    ).toBe(true);
  });

  it("the checks fail on a broken link and on a diagram mermaid cannot parse", async () => {
    expect(brokenLinks(path.join(DOCS, "index.md"), "see [x](../../no/such/file.ts) and [y](splitting.md)")).toEqual([
      "../../no/such/file.ts",
    ]);
    await expect(mermaid.parse("flowchart LR\n  a --> ")).rejects.toThrow(/Parse error/);
    await expect(mermaid.parse("sequenceDiagram\n  A->>: hi")).rejects.toThrow();
  });
});
