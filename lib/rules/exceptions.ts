/**
 * Elastic exception lists: the items Kibana exports (NDJSON, or JSON), validated with zod and
 * compiled once into a predicate that says which item, if any, suppresses an event.
 *
 * Semantics, following how Kibana turns exception items into an Elasticsearch filter
 * (`buildExceptionFilter`) and the choices below where a stream has to decide alone:
 * - An item matches when ALL of its entries match; a rule's exceptions suppress an event when ANY
 *   item matches. Items are tried in load order and the first match is reported.
 * - `match`: some value of the field equals `value` exactly (numbers and booleans compare by
 *   their string form, `true` equals "true"); `match_any`: some value equals one of `value`.
 *   Elasticsearch runs `match_phrase` here, which on the keyword fields exceptions are written
 *   against is exact equality. There is no IP/CIDR or numeric-range interpretation.
 * - `wildcard`: Elasticsearch's `wildcard` query on a keyword field: `*` any sequence, `?` one
 *   character, `\` escapes the next character (so a Windows path is written `C:\\Windows\\*`, as
 *   it must be in Kibana), case-sensitive. Note that this differs from EQL's `:`, where a
 *   backslash is literal.
 * - Case: every comparison is case-sensitive, like keyword fields. A field written with the
 *   `.caseless` suffix (the lowercase-normalised multi-field of Elastic Defend's mappings, e.g.
 *   `process.executable.caseless`) reads the base field and compares lowercased. Analysed `.text`
 *   multi-fields are tokenised by Elasticsearch and cannot be reproduced: such entries are a load
 *   error (the item is skipped, never silently half-applied).
 * - `exists`: the field has a non-null value (an empty array or `null` does not exist); on an
 *   object path, the object has some non-null value below it, like Elasticsearch's `exists`.
 * - `operator: "excluded"` is the negation of the same entry with "included" (a `must_not`
 *   clause), so an excluded `match` also holds when the field is missing.
 * - `nested`: some single element of the array of objects at `field` (one object counts as a
 *   one-element array) satisfies all of the sub-entries, whose fields are relative to that
 *   element. A nested entry has no operator of its own (`"excluded"` there is rejected).
 * - `list` (value lists) needs Kibana's list indices: a load error, the item is skipped.
 * - `os_types`: when non-empty, the event's `host.os.type` must be one of them (compared
 *   case-insensitively); an event without `host.os.type` does not match such an item. Kibana
 *   applies `os_types` to Endpoint exceptions; applying it to every list is the safe reading
 *   (an OS-specific item never suppresses another OS's events).
 * - `expire_time`: an item whose expiry is at or before the injected `nowMs` is ignored.
 *
 * Skipping a bad item means more alerts, never fewer: exceptions fail open for detection.
 * Matching never throws, never builds a regex, and reads each entry's field once, so it is linear
 * in the size of the event.
 */
import * as z from "zod";
import { compileWildcard, fieldGetter, type Event, type Scalar, type Value } from "../eql/index.js";
import { type FieldPath, formatFieldPath, RuleError } from "./errors.js";

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Why exceptions did not load: a file could not be read (`io`) or parsed (`json`), an item or
 * list does not fit the schema (`schema`), uses a feature this engine cannot evaluate
 * (`unsupported`), repeats an item id of the same list (`duplicate`), or a rule refers to a list
 * that no exceptions file defines (`missing_list`; the rule runs without it).
 */
export type ExceptionLoadErrorKind = "io" | "json" | "schema" | "unsupported" | "duplicate" | "missing_list";

export interface ExceptionErrorWhere {
  /** 1-based line (NDJSON records, JSON syntax errors). */
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  /** 0-based index of the record in a JSON array. */
  readonly record?: number | undefined;
  readonly itemId?: string | undefined;
  readonly listId?: string | undefined;
  readonly ruleId?: string | undefined;
  /** Path of the offending field inside the item or list, e.g. `["entries", 1, "value"]`. */
  readonly path?: FieldPath | undefined;
}

/**
 * An exceptions file, list or item that did not load. `message` is
 * `file:line:col: item "id": entries[0].value: reason` (parts omitted when unknown; JSON arrays
 * say `record N` instead of a line).
 */
export class ExceptionLoadError extends RuleError {
  override readonly name = "ExceptionLoadError";
  readonly kind: ExceptionLoadErrorKind;
  readonly record: number | undefined;
  readonly itemId: string | undefined;
  readonly listId: string | undefined;
  readonly ruleId: string | undefined;
  readonly path: FieldPath;

  constructor(kind: ExceptionLoadErrorKind, file: string, reason: string, where: ExceptionErrorWhere = {}, options?: { cause?: unknown }) {
    super(file, reason, { line: where.line, column: where.column }, options);
    this.kind = kind;
    this.record = where.record;
    this.itemId = where.itemId;
    this.listId = where.listId;
    this.ruleId = where.ruleId;
    this.path = where.path ?? [];
    const position = where.line !== undefined ? `:${where.line}:${where.column ?? 1}` : "";
    const record = where.record !== undefined ? `record ${where.record + 1}: ` : "";
    const subject =
      where.itemId !== undefined ? `item ${JSON.stringify(where.itemId)}: `
      : where.listId !== undefined ? `list ${JSON.stringify(where.listId)}: `
      : "";
    const field = this.path.length > 0 ? `${formatFieldPath(this.path)}: ` : "";
    this.message = `${file}${position}: ${record}${subject}${field}${reason}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Schema (Kibana's exception list item API, `@kbn/securitysolution-io-ts-list-types`)

export const EXCEPTION_OPERATORS = ["included", "excluded"] as const;
export type ExceptionOperator = (typeof EXCEPTION_OPERATORS)[number];
export const NAMESPACE_TYPES = ["single", "agnostic"] as const;

/**
 * The schemas, built on first use rather than at import: most deployments have no exception file,
 * and building these schemas cost ~2 ms of every cold start.
 */
export function exceptionSchemas(): ExceptionSchemas {
  return (schemas ??= buildSchemas());
}

export type ExceptionSchemas = ReturnType<typeof buildSchemas>;
let schemas: ExceptionSchemas | undefined;

function buildSchemas() {
  const nonEmpty = z.string().min(1, "expected a non-empty string");
  /** `a.b.c`: non-empty segments. Checked once at load; matching never uses a regex. */
  const FIELD_PATTERN = /^[^.\s][^.]*(?:\.[^.]+)*$/;
  const fieldName = z.string().regex(FIELD_PATTERN, 'expected a field name like "process.executable"');
  const operator = z.enum(EXCEPTION_OPERATORS);

  const ExceptionEntryMatchSchema = z.looseObject({
    field: fieldName,
    operator,
    type: z.literal("match"),
    value: nonEmpty,
  });
  const ExceptionEntryMatchAnySchema = z.looseObject({
    field: fieldName,
    operator,
    type: z.literal("match_any"),
    value: z.array(nonEmpty).min(1, "expected at least one value"),
  });
  const ExceptionEntryWildcardSchema = z.looseObject({
    field: fieldName,
    operator,
    type: z.literal("wildcard"),
    value: nonEmpty,
  });
  const ExceptionEntryExistsSchema = z.looseObject({
    field: fieldName,
    operator,
    type: z.literal("exists"),
  });
  const ExceptionEntryListSchema = z.looseObject({
    field: fieldName,
    operator,
    type: z.literal("list"),
    list: z.looseObject({ id: nonEmpty, type: nonEmpty }),
  });
  /**
   * Sub-entries of a nested entry. Kibana allows match, match_any and exists; wildcard is accepted
   * too, since it is evaluated the same way.
   */
  const ExceptionNestedSubEntrySchema = z.discriminatedUnion("type", [
    ExceptionEntryMatchSchema,
    ExceptionEntryMatchAnySchema,
    ExceptionEntryWildcardSchema,
    ExceptionEntryExistsSchema,
  ]);
  const ExceptionEntryNestedSchema = z.looseObject({
    field: fieldName,
    type: z.literal("nested"),
    /** Kibana's nested entries have no operator; "excluded" belongs on the sub-entries. */
    operator: z.literal("included", 'a nested entry takes no operator; put "excluded" on its sub-entries').optional(),
    entries: z.array(ExceptionNestedSubEntrySchema).min(1, "expected at least one entry"),
  });
  const ExceptionEntrySchema = z.discriminatedUnion("type", [
    ExceptionEntryMatchSchema,
    ExceptionEntryMatchAnySchema,
    ExceptionEntryWildcardSchema,
    ExceptionEntryExistsSchema,
    ExceptionEntryNestedSchema,
    ExceptionEntryListSchema,
  ]);

  const dateTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "expected an ISO 8601 date-time");

  /**
   * An exception list item. Required: `item_id`, `list_id` and non-empty `entries`; `type` must be
   * "simple" (the only item type) and may be left out in hand-written files. Unknown keys (`id`,
   * `comments`, `meta`, `_version`, ...) are kept.
   */
  const ExceptionItemSchema = z.looseObject({
    item_id: nonEmpty,
    list_id: nonEmpty,
    type: z.literal("simple").default("simple"),
    name: z.string().optional(),
    description: z.string().optional(),
    entries: z.array(ExceptionEntrySchema).min(1, "expected at least one entry"),
    os_types: z
      .array(nonEmpty)
      .nullish()
      .transform((v) => v ?? []),
    expire_time: dateTime.nullish(),
    namespace_type: z.enum(NAMESPACE_TYPES).optional(),
    tags: z.array(z.string()).optional(),
  });

  /** An exception list (container). `type` is "detection", "endpoint", "rule_default", ... */
  const ExceptionListSchema = z.looseObject({
    list_id: nonEmpty,
    type: nonEmpty,
    name: z.string().optional(),
    description: z.string().optional(),
    namespace_type: z.enum(NAMESPACE_TYPES).optional(),
  });

  return {
    entryMatch: ExceptionEntryMatchSchema,
    entryMatchAny: ExceptionEntryMatchAnySchema,
    entryWildcard: ExceptionEntryWildcardSchema,
    entryExists: ExceptionEntryExistsSchema,
    entryList: ExceptionEntryListSchema,
    nestedSubEntry: ExceptionNestedSubEntrySchema,
    entryNested: ExceptionEntryNestedSchema,
    entry: ExceptionEntrySchema,
    item: ExceptionItemSchema,
    list: ExceptionListSchema,
  };
}

export type ExceptionEntry = z.output<ExceptionSchemas["entry"]>;
export type ExceptionNestedSubEntry = z.output<ExceptionSchemas["nestedSubEntry"]>;
export type ExceptionItem = z.output<ExceptionSchemas["item"]>;
export type ExceptionList = z.output<ExceptionSchemas["list"]>;

// ---------------------------------------------------------------------------------------------
// Parsing a file's text

/** Where a list or item came from. */
export interface ExceptionSource {
  readonly file: string;
  /** 1-based line, for NDJSON. */
  readonly line?: number | undefined;
  /** 0-based record index, for a JSON array. */
  readonly record?: number | undefined;
}

export interface LoadedExceptionItem {
  readonly item: ExceptionItem;
  readonly source: ExceptionSource;
}

export interface LoadedExceptionList {
  readonly list: ExceptionList;
  readonly source: ExceptionSource;
}

export interface ParsedExceptionFile {
  readonly file: string;
  readonly lists: readonly LoadedExceptionList[];
  /** Items that fit the schema (they may still fail to compile, e.g. `list` entries). */
  readonly items: readonly LoadedExceptionItem[];
  readonly errors: readonly ExceptionLoadError[];
}

/** Keys of the summary line that ends a Kibana export. */
const EXPORT_SUMMARY_KEYS = ["exported_exception_list_count", "exported_exception_list_item_count", "exported_count", "exported_rules_count"];

/**
 * Parses an exceptions file. NDJSON (one record per line, as Kibana exports; the export summary
 * line and rule objects of a rule export are skipped) or JSON: an array of records, one record,
 * or an API page `{ "data": [...] }`. A `.json` file whose text is not one JSON value but whose
 * first line is, is read as NDJSON (a renamed export). Every bad record becomes an error and the
 * others still load.
 */
export function parseExceptionFile(text: string, file: string): ParsedExceptionFile {
  const lists: LoadedExceptionList[] = [];
  const items: LoadedExceptionItem[] = [];
  const errors: ExceptionLoadError[] = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const add = (raw: unknown, source: ExceptionSource): void => {
    const where = { line: source.line, record: source.record };
    const result = classify(raw, file, where);
    if (result === null) return;
    if ("error" in result) errors.push(result.error);
    else if (result.kind === "item") items.push({ item: result.item, source });
    else lists.push({ list: result.list, source });
  };

  if (!file.toLowerCase().endsWith(".ndjson")) {
    let value: unknown;
    let syntax: unknown = null;
    try {
      value = JSON.parse(body);
    } catch (err) {
      syntax = err;
    }
    if (syntax === null) {
      const records = Array.isArray(value) ? value : isApiPage(value) ? value.data : null;
      if (records === null) add(value, { file });
      else records.forEach((raw, record) => add(raw, { file, record }));
      return { file, lists, items, errors };
    }
    if (!firstLineIsJson(body)) {
      const at = jsonErrorPosition(syntax, body);
      errors.push(new ExceptionLoadError("json", file, `invalid JSON: ${jsonErrorReason(syntax)}`, at, { cause: syntax }));
      return { file, lists, items, errors };
    }
  }

  let start = 0;
  let line = 0;
  while (start <= body.length) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    line++;
    const rawLine = body.slice(start, end);
    start = end + 1;
    if (rawLine.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(rawLine);
    } catch (err) {
      const column = Math.min(jsonErrorOffset(rawLine), rawLine.length) + 1;
      errors.push(new ExceptionLoadError("json", file, `invalid JSON: ${jsonErrorReason(err)}`, { line, column }, { cause: err }));
      continue;
    }
    add(value, { file, line });
  }
  return { file, lists, items, errors };
}

type Classified =
  | { kind: "item"; item: ExceptionItem }
  | { kind: "list"; list: ExceptionList }
  | { error: ExceptionLoadError }
  | null;

function classify(raw: unknown, file: string, where: { line?: number | undefined; record?: number | undefined }): Classified {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    const reason = "expected a JSON object (an exception list or an exception list item)";
    return { error: new ExceptionLoadError("schema", file, reason, where) };
  }
  const obj = raw as Record<string, unknown>;
  if (EXPORT_SUMMARY_KEYS.some((k) => Object.hasOwn(obj, k))) return null;
  const itemId = typeof obj["item_id"] === "string" ? obj["item_id"] : undefined;
  const listId = typeof obj["list_id"] === "string" ? obj["list_id"] : undefined;
  if (Object.hasOwn(obj, "entries") || Object.hasOwn(obj, "item_id")) {
    const parsed = exceptionSchemas().item.safeParse(obj);
    if (parsed.success) return { kind: "item", item: parsed.data };
    return { error: schemaError(file, parsed.error.issues, obj, { ...where, itemId, listId: itemId === undefined ? listId : undefined }) };
  }
  // A rule object of a Kibana rule export (which bundles the rules' exception lists and items).
  if (Object.hasOwn(obj, "rule_id")) return null;
  if (Object.hasOwn(obj, "list_id")) {
    const parsed = exceptionSchemas().list.safeParse(obj);
    if (parsed.success) return { kind: "list", list: parsed.data };
    return { error: schemaError(file, parsed.error.issues, obj, { ...where, listId }) };
  }
  const reason = "neither an exception list (list_id, type) nor an exception list item (item_id, list_id, entries)";
  return { error: new ExceptionLoadError("schema", file, reason, where) };
}

function isApiPage(v: unknown): v is { data: unknown[] } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Array.isArray((v as { data?: unknown }).data);
}

function firstLineIsJson(text: string): boolean {
  const nl = text.indexOf("\n");
  const first = (nl < 0 ? text : text.slice(0, nl)).trim();
  if (first === "" || nl < 0) return false;
  try {
    JSON.parse(first);
    return true;
  } catch {
    return false;
  }
}

/** V8's message without its offsets (the error carries line and column instead). */
function jsonErrorReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/ in JSON at position \d+.*$/s, "").replace(/ \(line \d+ column \d+\)$/, "");
}

/**
 * Line and column of a JSON syntax error. V8's message has no position in every case (Node 20:
 * `Unexpected token '}', ..."list_id": }" is not valid JSON`), so a small scanner finds the
 * offset where the text stops being JSON. Runs only for a file that failed to parse.
 */
function jsonErrorPosition(_err: unknown, text: string): { line?: number; column?: number } {
  const offset = Math.min(jsonErrorOffset(text), text.length);
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first character that makes `text` invalid JSON (text.length if it ends early). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 92) {
        i++;
        const e = text[i];
        if (e === "u") {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!isHexDigit(text.charCodeAt(i))) fail();
          }
          i++;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
    fail();
  };
  const number = (): void => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0] === "" || m[0] === "-") fail();
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail();
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail();
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number();
    else fail();
  };
  try {
    value(0);
    ws();
    return i;
  } catch (err) {
    if (err instanceof Stop) return i;
    throw err;
  }
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** The first zod issue, as `entries[0].value: expected a non-empty string`. */
function schemaError(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  root: unknown,
  where: ExceptionErrorWhere,
): ExceptionLoadError {
  const issue = issues[0]!;
  const fieldPath: FieldPath = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
  return new ExceptionLoadError("schema", file, describeIssue(issue, valueAt(root, fieldPath)) + more, { ...where, path: fieldPath });
}

function valueAt(root: unknown, fieldPath: FieldPath): unknown {
  let v = root;
  for (const key of fieldPath) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeName(value);
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const missing = input === undefined;
  switch (issue.code) {
    case "invalid_type":
      return missing ? `required field missing (expected ${issue.expected})` : `expected ${issue.expected}, received ${typeName(input)}`;
    case "invalid_value": {
      if (!issue.message.startsWith("Invalid")) return issue.message;
      const options = issue.values.map((v) => JSON.stringify(v)).join(", ");
      const expected = issue.values.length === 1 ? options : `one of ${options}`;
      return missing ? `required field missing (expected ${expected})` : `expected ${expected}, received ${show(input)}`;
    }
    case "invalid_union": {
      if (issue.discriminator !== undefined && "options" in issue && Array.isArray(issue.options)) {
        const options = issue.options.map((v) => JSON.stringify(v)).join(", ");
        return missing ? `required field missing (expected one of ${options})` : `unknown entry type ${show(input)} (expected one of ${options})`;
      }
      return missing ? "required field missing" : `unexpected value ${show(input)}`;
    }
    case "too_small":
      if (issue.message.startsWith("expected")) return issue.message;
      return `expected at least ${issue.minimum}, received ${show(input)}`;
    case "too_big":
    case "invalid_format":
    case "not_multiple_of":
    case "unrecognized_keys":
    case "invalid_key":
    case "invalid_element":
    case "custom":
      return issue.message.startsWith("expected") && !missing && typeof input === "string"
        ? `${issue.message}, received ${show(input)}`
        : issue.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling

/** What identifies a matched item in logs and metrics. */
export interface ExceptionItemRef {
  readonly itemId: string;
  readonly listId: string;
  readonly name: string | undefined;
  readonly source: ExceptionSource;
  /** `expire_time` in epoch milliseconds, when set. */
  readonly expiresAtMs: number | undefined;
}

/** One compiled item; combine items with `combineExceptions`. */
export interface CompiledExceptionItem {
  readonly ref: ExceptionItemRef;
  /** Lowercased `os_types`, or null when the item applies to every OS. */
  readonly osTypes: ReadonlySet<string> | null;
  /** All entries hold (os_types and expiry are checked by the combined predicate). */
  readonly entriesMatch: (event: Event) => boolean;
}

/** A rule's exceptions, compiled. */
export interface CompiledExceptions {
  /** The items, in evaluation order. */
  readonly items: readonly ExceptionItemRef[];
  /**
   * The `item_id` of the first item that matches the event and has not expired at `nowMs`
   * (epoch milliseconds), or null when the event is not excepted. Never throws.
   */
  readonly match: (event: Event, nowMs: number) => string | null;
}

export type CompileItemResult =
  | { readonly success: true; readonly data: CompiledExceptionItem }
  | { readonly success: false; readonly error: ExceptionLoadError };

type EntryTest = (node: Event) => boolean;

class UnsupportedEntry extends Error {
  constructor(
    message: string,
    readonly path: FieldPath,
  ) {
    super(message);
  }
}

/** Compiles one schema-valid item. `list` entries and `.text` fields are `unsupported` errors. */
export function compileExceptionItem(loaded: LoadedExceptionItem): CompileItemResult {
  const { item, source } = loaded;
  let tests: EntryTest[];
  try {
    tests = item.entries.map((entry, i) => compileEntry(entry, ["entries", i]));
  } catch (err) {
    if (!(err instanceof UnsupportedEntry)) throw err;
    const where = { line: source.line, record: source.record, itemId: item.item_id, path: err.path };
    return { success: false, error: new ExceptionLoadError("unsupported", source.file, err.message, where) };
  }
  const expiresAtMs = item.expire_time != null ? Date.parse(item.expire_time) : undefined;
  const osTypes = item.os_types.length > 0 ? new Set(item.os_types.map((o) => o.toLowerCase())) : null;
  const entriesMatch = allOf(tests);
  const ref: ExceptionItemRef = { itemId: item.item_id, listId: item.list_id, name: item.name, source, expiresAtMs };
  return { success: true, data: { ref, osTypes, entriesMatch } };
}

const hostOsType = fieldGetter(["host", "os", "type"]);

/** Combines compiled items into one predicate (OR of the items, in order). */
export function combineExceptions(items: readonly CompiledExceptionItem[]): CompiledExceptions {
  const list = [...items];
  const refs = list.map((c) => c.ref);
  const needsOs = list.some((c) => c.osTypes !== null);
  const match = (event: Event, nowMs: number): string | null => {
    let os: Value | undefined;
    for (const c of list) {
      const expires = c.ref.expiresAtMs;
      if (expires !== undefined && expires <= nowMs) continue;
      if (c.osTypes !== null) {
        if (os === undefined) os = needsOs ? hostOsType(event) : null;
        if (!osMatches(c.osTypes, os)) continue;
      }
      if (c.entriesMatch(event)) return c.ref.itemId;
    }
    return null;
  };
  return { items: refs, match };
}

/** Compiles items and combines the ones that compile; the others come back as errors. */
export function compileExceptions(items: readonly LoadedExceptionItem[]): {
  exceptions: CompiledExceptions;
  errors: ExceptionLoadError[];
} {
  const compiled: CompiledExceptionItem[] = [];
  const errors: ExceptionLoadError[] = [];
  for (const loaded of items) {
    const r = compileExceptionItem(loaded);
    if (r.success) compiled.push(r.data);
    else errors.push(r.error);
  }
  return { exceptions: combineExceptions(compiled), errors };
}

function osMatches(osTypes: ReadonlySet<string>, os: Value): boolean {
  if (os === null) return false;
  if (typeof os !== "object") return typeof os === "string" && osTypes.has(os.toLowerCase());
  for (const v of os) if (typeof v === "string" && osTypes.has(v.toLowerCase())) return true;
  return false;
}

function allOf(tests: readonly EntryTest[]): EntryTest {
  if (tests.length === 1) return tests[0]!;
  return (node) => {
    for (const t of tests) if (!t(node)) return false;
    return true;
  };
}

const CASELESS = ".caseless";
const TEXT = ".text";

/** The field to read and whether it compares lowercased (`.caseless`). */
function fieldOf(field: string, path: FieldPath): { segments: string[]; caseless: boolean } {
  if (field.endsWith(TEXT)) {
    throw new UnsupportedEntry(
      `analysed text field "${field}" is not supported (Elasticsearch tokenises it); use the keyword field or its .caseless variant`,
      [...path, "field"],
    );
  }
  const caseless = field.endsWith(CASELESS) && field.length > CASELESS.length;
  const base = caseless ? field.slice(0, -CASELESS.length) : field;
  return { segments: base.split("."), caseless };
}

function compileEntry(entry: ExceptionEntry, path: FieldPath): EntryTest {
  switch (entry.type) {
    case "match":
    case "match_any":
    case "wildcard":
    case "exists":
      return compileLeaf(entry, path);
    case "nested": {
      const { segments, caseless } = fieldOf(entry.field, path);
      if (caseless) throw new UnsupportedEntry("a nested entry's field is an object array and has no .caseless variant", [...path, "field"]);
      const joined = joinedSegments(segments);
      const element = allOf(entry.entries.map((sub, i) => compileLeaf(sub, [...path, "entries", i])));
      return (event) => {
        const objects: object[] = [];
        collectNodes(event, joined, 0, objects, true);
        for (const o of objects) if (element(o as Event)) return true;
        return false;
      };
    }
    case "list":
      throw new UnsupportedEntry(
        `value lists (type "list", list "${entry.list.id}") are not supported: they live in Kibana's list indices; use match_any`,
        [...path, "type"],
      );
    default: {
      const unreachable: never = entry;
      throw new UnsupportedEntry(`unknown entry type ${JSON.stringify((unreachable as { type: unknown }).type)}`, [...path, "type"]);
    }
  }
}

function compileLeaf(entry: ExceptionNestedSubEntry, path: FieldPath): EntryTest {
  const { segments, caseless } = fieldOf(entry.field, path);
  const get = fieldGetter(segments);
  let included: EntryTest;
  switch (entry.type) {
    case "match": {
      const want = caseless ? entry.value.toLowerCase() : entry.value;
      included = anyValue(get, caseless, (s) => s === want);
      break;
    }
    case "match_any": {
      const set = new Set(caseless ? entry.value.map((v) => v.toLowerCase()) : entry.value);
      included = anyValue(get, caseless, (s) => set.has(s));
      break;
    }
    case "wildcard": {
      const matcher = compileEsWildcard(caseless ? entry.value.toLowerCase() : entry.value);
      included = anyValue(get, caseless, matcher);
      break;
    }
    case "exists": {
      const joined = joinedSegments(segments);
      included = (node) => get(node) !== null || hasObjectValue(node, joined);
      break;
    }
    default: {
      const unreachable: never = entry;
      throw new UnsupportedEntry(`unknown entry type ${JSON.stringify((unreachable as { type: unknown }).type)}`, [...path, "type"]);
    }
  }
  return entry.operator === "excluded" ? (node) => !included(node) : included;
}

function str(v: Scalar, caseless: boolean): string {
  const s = typeof v === "string" ? v : String(v);
  return caseless ? s.toLowerCase() : s;
}

function anyValue(get: (e: Event) => Value, caseless: boolean, test: (s: string) => boolean): EntryTest {
  return (node) => {
    const v = get(node);
    if (v === null) return false;
    if (typeof v !== "object") return test(str(v, caseless));
    for (const x of v) if (test(str(x, caseless))) return true;
    return false;
  };
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch wildcard patterns (`*`, `?`, `\` escapes)

/**
 * A matcher for an Elasticsearch `wildcard` pattern. Without backslashes this is lib/eql's
 * linear matcher. With them, `\x` is a literal `x` (a trailing `\` is a literal backslash, as in
 * Lucene), and the pattern runs on a token matcher with the same leftmost-segment strategy.
 */
export function compileEsWildcard(pattern: string): (s: string) => boolean {
  if (!pattern.includes("\\")) return compileWildcard(pattern);
  // Tokens: a code unit (as a number), ANY_ONE for `?`, and STAR splitting segments.
  const segments: number[][] = [[]];
  let hasEscapedWildcard = false;
  let plain = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    const seg = segments[segments.length - 1]!;
    if (c === 92 /* \ */) {
      if (i + 1 < pattern.length) {
        i++;
        const next = pattern.charCodeAt(i);
        if (next === 42 || next === 63) hasEscapedWildcard = true;
        seg.push(next);
        plain += pattern[i];
      } else {
        seg.push(92);
        plain += "\\";
      }
    } else if (c === 42 /* * */) {
      segments.push([]);
      plain += "*";
    } else if (c === 63 /* ? */) {
      seg.push(ANY_ONE);
      plain += "?";
    } else {
      seg.push(c);
      plain += pattern[i];
    }
  }
  // Escapes of ordinary characters only: the unescaped text is an ordinary pattern.
  if (!hasEscapedWildcard) return compileWildcard(plain);
  return tokenMatcher(segments);
}

const ANY_ONE = -1;

function tokenMatcher(segments: readonly (readonly number[])[]): (s: string) => boolean {
  const first = segments[0]!;
  if (segments.length === 1) return (s) => matchAt(s, 0, first) === s.length;
  const last = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((seg) => seg.length > 0);
  return (s) => {
    const pos0 = matchAt(s, 0, first);
    if (pos0 < 0) return false;
    const end = matchEndingAt(s, s.length, last);
    if (end < pos0) return false;
    let pos = pos0;
    for (const seg of middle) {
      let found = -1;
      for (let p = pos; p < end; p++) {
        const e = matchAt(s, p, seg);
        if (e >= 0 && e <= end) {
          found = e;
          break;
        }
      }
      if (found < 0) return false;
      pos = found;
    }
    return pos <= end;
  };
}

/** End offset of `seg` matched at `at`, or -1. `?` takes one code point. */
function matchAt(s: string, at: number, seg: readonly number[]): number {
  let i = at;
  for (const t of seg) {
    if (i >= s.length) return -1;
    if (t === ANY_ONE) i += isPair(s, i) ? 2 : 1;
    else if (s.charCodeAt(i) !== t) return -1;
    else i++;
  }
  return i;
}

/** Start offset of `seg` matched so that it ends at `end`, or -1. */
function matchEndingAt(s: string, end: number, seg: readonly number[]): number {
  let i = end;
  for (let k = seg.length - 1; k >= 0; k--) {
    const t = seg[k]!;
    if (i <= 0) return -1;
    if (t === ANY_ONE) i -= i >= 2 && isPair(s, i - 2) ? 2 : 1;
    else if (s.charCodeAt(i - 1) !== t) return -1;
    else i--;
  }
  return i;
}

function isPair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  const d = s.charCodeAt(i + 1);
  return c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff;
}

// ---------------------------------------------------------------------------------------------
// Objects at a path (nested entries, exists on an object), read like lib/eql's fieldGetter:
// nested objects, literal dotted keys and arrays, own properties only.

/** joined[i][j] = segments i..j joined by ".". */
function joinedSegments(segments: readonly string[]): string[][] {
  const joined: string[][] = [];
  for (let i = 0; i < segments.length; i++) {
    const row: string[] = [];
    let key = "";
    for (let j = i; j < segments.length; j++) {
      key = j === i ? segments[j]! : `${key}.${segments[j]!}`;
      row[j] = key;
    }
    joined.push(row);
  }
  return joined;
}

const MAX_DEPTH = 32;

/** Pushes the non-null values at the path; with `objectsOnly`, only the objects among them. */
function collectNodes(node: unknown, joined: readonly (readonly string[])[], i: number, out: unknown[], objectsOnly: boolean, depth = 0): void {
  if (node === null || node === undefined || depth > MAX_DEPTH) return;
  if (Array.isArray(node)) {
    for (const el of node) collectNodes(el, joined, i, out, objectsOnly, depth + 1);
    return;
  }
  if (i === joined.length) {
    if (!objectsOnly || typeof node === "object") out.push(node);
    return;
  }
  if (typeof node !== "object") return;
  const row = joined[i]!;
  for (let j = i; j < joined.length; j++) {
    const key = row[j]!;
    if (Object.hasOwn(node, key)) collectNodes((node as Record<string, unknown>)[key], joined, j + 1, out, objectsOnly, depth + 1);
  }
}

/** True when an object at the path holds some non-null scalar below it. */
function hasObjectValue(node: Event, joined: readonly (readonly string[])[]): boolean {
  const objects: unknown[] = [];
  collectNodes(node, joined, 0, objects, true);
  for (const o of objects) if (holdsScalar(o, 0)) return true;
  return false;
}

function holdsScalar(v: unknown, depth: number): boolean {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return true;
  if (v === null || typeof v !== "object" || depth > MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (holdsScalar(x, depth + 1)) return true;
    return false;
  }
  for (const key of Object.keys(v)) if (holdsScalar((v as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}
