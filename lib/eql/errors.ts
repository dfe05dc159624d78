import type { Span } from "./ast.js";

/** 1-based line and column of `offset` in `source`. Computed only when an error is shown. */
export function lineCol(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let i = 0; i < end; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * The offending source line with a caret under the span (at most the rest of the line), e.g.
 *
 *     process where process.name = "x"
 *                                ^
 */
export function snippet(source: string, span: Span): string {
  const start = Math.min(span.start, source.length);
  const lineStart = source.lastIndexOf("\n", start - 1) + 1;
  let lineEnd = source.indexOf("\n", start);
  if (lineEnd < 0) lineEnd = source.length;
  const raw = source.slice(lineStart, lineEnd).replace(/\t/g, " ");
  // Very long lines (minified queries) are cut around the error so the caret stays readable.
  const col = start - lineStart;
  const from = col > 60 ? col - 40 : 0;
  const text = (from > 0 ? "..." : "") + raw.slice(from, from + 120) + (raw.length > from + 120 ? "..." : "");
  const caretCol = col - from + (from > 0 ? 3 : 0);
  const width = Math.max(1, Math.min(span.end, lineEnd) - start);
  return `${text}\n${" ".repeat(caretCol)}${"^".repeat(Math.min(width, 80))}`;
}

abstract class EqlError extends Error {
  readonly span: Span;
  readonly line: number;
  readonly column: number;
  /** The message without position, e.g. `unknown function [foo]`. */
  readonly reason: string;
  readonly source: string;

  constructor(reason: string, source: string, span: Span, options?: { cause?: unknown }) {
    const { line, column } = lineCol(source, span.start);
    super(`${reason} (${line}:${column})`, options);
    this.reason = reason;
    this.source = source;
    // An error at the end of the query points just past it; keep the span inside the source.
    const end = Math.min(span.end, source.length);
    this.span = { start: Math.min(span.start, end), end };
    this.line = line;
    this.column = column;
  }

  /** The message followed by the offending line and a caret. */
  pretty(): string {
    return `${this.message}\n${snippet(this.source, this.span)}`;
  }
}

/** The query text is not valid EQL syntax. */
export class EqlSyntaxError extends EqlError {
  override readonly name = "EqlSyntaxError";
}

/** The query parses but is not valid (unknown function, wrong arity, bad `runs`, ...). */
export class EqlValidationError extends EqlError {
  override readonly name = "EqlValidationError";
}

export type EqlQueryError = EqlSyntaxError | EqlValidationError;
