import type { EqlQueryError, Span } from "../eql/index.js";

/** A path into the parsed TOML document, e.g. `["rule", "threat", 0, "tactic", "id"]`. */
export type FieldPath = readonly (string | number)[];

/**
 * `rule.threat[0].tactic.id`. Keys that are not bare TOML keys are quoted the TOML way, so
 * `["rule", "filters", 0, "file.path"]` prints as `rule.filters[0]."file.path"`.
 */
export function formatFieldPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const key = /^[A-Za-z0-9_-]+$/.test(part) ? part : JSON.stringify(part);
      out += out === "" ? key : `.${key}`;
    }
  }
  return out;
}

/** Why a rule file did not load: it could not be read, is not TOML, or does not fit the rule model. */
export type RuleLoadErrorKind = "io" | "toml" | "schema" | "duplicate";

/**
 * Base of the errors of `lib/rules`. `message` is the one-line form the CLI prints:
 * `file:line:col: reason` when the position is known, else `file: field.path: reason` or `file: reason`.
 */
export abstract class RuleError extends Error {
  /** The file as it was given (not resolved), so messages stay relative to the caller's cwd. */
  readonly file: string;
  /** The message without file, field path or position. */
  readonly reason: string;
  /** 1-based line and column in the file, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  protected constructor(
    file: string,
    reason: string,
    where: { line?: number | undefined; column?: number | undefined; path?: FieldPath | undefined },
    options?: { cause?: unknown },
  ) {
    const position = where.line !== undefined ? `:${where.line}:${where.column ?? 1}` : "";
    const field = where.path !== undefined && where.path.length > 0 ? `${formatFieldPath(where.path)}: ` : "";
    super(`${file}${position}: ${field}${reason}`, options);
    this.file = file;
    this.reason = reason;
    this.line = where.line;
    this.column = where.column;
  }
}

/** A rule file could not be read, parsed as TOML, or validated against the rule model. */
export class RuleLoadError extends RuleError {
  override readonly name = "RuleLoadError";
  readonly kind: RuleLoadErrorKind;
  /** Path of the offending field for `schema` and `duplicate` errors; empty otherwise. */
  readonly path: FieldPath;

  constructor(
    kind: RuleLoadErrorKind,
    file: string,
    reason: string,
    where: { path?: FieldPath; line?: number; column?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(file, reason, where, options);
    this.kind = kind;
    this.path = where.path ?? [];
  }
}

/**
 * An EQL syntax or validation error of a rule's query, placed in the TOML file. `cause` is the
 * original error from `lib/eql`, whose span and line/column are relative to the query text.
 */
export class RuleQueryError extends RuleError {
  override readonly name = "RuleQueryError";
  override readonly cause: EqlQueryError;
  override readonly line: number;
  override readonly column: number;
  /** Offsets into the TOML file text. */
  readonly span: Span;
  /**
   * False when the query string could not be found in the file (for example a key written in an
   * unusual form); line and column then point at the start of the file and the reason says where
   * in the query the error is.
   */
  readonly located: boolean;

  constructor(file: string, cause: EqlQueryError, where: { line: number; column: number; span: Span; located: boolean }) {
    const kind = cause.name === "EqlSyntaxError" ? "EQL syntax error" : "EQL validation error";
    const reason = where.located
      ? `${kind}: ${cause.reason}`
      : `${kind}: ${cause.reason} (query line ${cause.line}, column ${cause.column}; the query could not be located in the file)`;
    super(file, reason, where, { cause });
    this.cause = cause;
    this.line = where.line;
    this.column = where.column;
    this.span = where.span;
    this.located = where.located;
  }
}
