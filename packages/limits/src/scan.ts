import { GraphQLError, Lexer, Source, TokenKind } from "graphql";

/** What {@link scanDocument} measured of a document's text, before anything parses it. */
export interface DocumentScan {
  /** Lexical tokens (comments excluded, as graphql-js's `maxTokens` counts them). */
  tokens: number;
  /** Deepest nesting of `{`, `[` and `(`. */
  nesting: number;
  /** False when the text has a lexical error: the parser will report it (GRAPHQL_PARSE_FAILED). */
  lexable: boolean;
}

const OPENING: ReadonlySet<string> = new Set([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING: ReadonlySet<string> = new Set([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Counts the tokens of a GraphQL document and how deeply its brackets nest, in one pass of graphql-js's own lexer
 * and constant memory. graphql-js's parser, validation and execution are recursive: a document 10,000 brackets deep
 * overflows the stack in any of them ("Maximum call stack size exceeded"), and `parse(..., { maxTokens })` alone
 * stops huge documents but not deep ones within the budget. This pass is a loop, so it is safe on any input, and
 * what it measures bounds every recursive walk that follows.
 *
 * Written here because no library measures nesting before parsing (graphql-armor's max-depth and max-tokens work
 * on the parsed document, and its Apollo max-tokens plugin throws from `parsingDidStart`, which Apollo Server 5
 * answers with a 500).
 *
 * `stopAfterTokens` ends the pass early (the count is then a lower bound): a request body is bounded, but a
 * megabyte of tokens need not be lexed to the end to be refused.
 */
export function scanDocument(text: string, stopAfterTokens = Number.POSITIVE_INFINITY): DocumentScan {
  const lexer = new Lexer(new Source(text));
  let tokens = 0;
  let depth = 0;
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      // Tokens link to their predecessors: unlink, so a long document does not stay in memory token by token.
      (token as { prev: unknown }).prev = null;
      tokens += 1;
      if (OPENING.has(token.kind)) nesting = Math.max(nesting, ++depth);
      else if (CLOSING.has(token.kind)) depth -= 1;
      if (tokens >= stopAfterTokens) break;
    }
  } catch (error) {
    if (error instanceof GraphQLError) return { tokens, nesting, lexable: false };
    throw error;
  }
  return { tokens, nesting, lexable: true };
}
