/**
 * The guide's `$investigate_N` / `$osquery_N` placeholders, resolved from the rule's
 * `[[transform.investigate]]` / `[[transform.osquery]]` tables into copyable query text: Timeline
 * KQL and osquery SQL, with `{{field}}` templates filled from the alert's events. In Kibana these
 * are buttons that open Timeline or Live Query; a Slack card or a ticket cannot have those, so the
 * analyst gets the query to paste instead of a dead link.
 *
 * Choices:
 * - N is the 0-based index into the table, as the release tooling numbers them. A placeholder
 *   without an entry stays text and is listed in `unmatched`; the same placeholder used twice
 *   refers to one `ResolvedQuery`. Queries are numbered in the order the guide first uses them.
 * - KQL follows Kibana's Timeline data providers: the providers are an OR of AND-groups;
 *   `phrase` (the only type in the corpus) is `field : "value"`, `exists` is `field : *`,
 *   `phrases` a JSON list `field : ("a" or "b")`, `range` a JSON `{gte, lt}`; `excluded` adds
 *   `not`. Any other type is treated as `phrase`, as Kibana does.
 * - A template takes its value from the first event (in event order) that has the field; an
 *   array gives its first element, as Kibana does. Null, empty strings, objects and values with
 *   control characters (other than tab and line breaks) fill nothing: the template stays
 *   `{{field}}` in the query and the field is listed in `unresolved`.
 * - Event values are attacker-controlled and the analyst runs what they copy, so a value can
 *   never leave its literal: in KQL the whole value is one quoted string with `\` and `"`
 *   escaped (and tab/CR/LF written as `\t`/`\r`/`\n`, which KQL's quoted strings accept); in
 *   osquery SQL the query is scanned, a template inside a '...' literal gets `'` doubled, and a
 *   bare template becomes a quoted literal of its own ('value', or the number for a JSON number).
 *   Kibana pastes values into osquery SQL raw, so `username = {{user.name}}` in the corpus would
 *   not even parse there.
 * - Never throws: a malformed table entry gives the best query it can.
 */
import { getRaw } from "../detect/projection.js";
import type { Guide, GuideBlock, GuideListItem, GuideSection, Inline } from "../rules/guide.js";
import type { InvestigateProvider, InvestigateTransform, OsqueryTransform, RuleTransform } from "../rules/model.js";
import type { ResolvedQuery } from "./result.js";

export interface QueryResolution {
  /** The guide with each resolvable placeholder replaced by a `{type: "query", ref}` inline. */
  readonly guide: Guide;
  readonly queries: readonly ResolvedQuery[];
  /** Placeholders the rule has no transform entry for (left as text in the guide), deduplicated. */
  readonly unmatched: readonly string[];
}

type PlaceholderKind = "investigate" | "osquery";

/** `$investigate_3`, `$osquery_0`: a canonical decimal index, not followed by a word character. */
const PLACEHOLDER = /\$(investigate|osquery)_(0|[1-9]\d{0,8})(?![\w])/g;

/** Kibana's template pattern; the field name is trimmed. Quotes and line breaks never belong to one. */
const TEMPLATE = /\{\{([^{}'"\n]+)\}\}/g;

/**
 * Replaces the guide's placeholders with query references and builds the queries.
 * `events` are the alert's events (projections, in stage order); a `{missing: true}` stage
 * contributes nothing.
 */
export function resolveGuideQueries(
  guide: Guide,
  transform: RuleTransform | undefined,
  events: readonly Record<string, unknown>[],
): QueryResolution {
  const queries: ResolvedQuery[] = [];
  const refs = new Map<string, number>();
  const unmatched: string[] = [];
  const lookup = fieldLookup(events);

  const refFor = (kind: PlaceholderKind, index: number, placeholder: string): number | null => {
    const known = refs.get(placeholder);
    if (known !== undefined) return known;
    const query = kind === "investigate" ? investigateQuery(transform?.investigate?.[index], placeholder, lookup)
      : osqueryQuery(transform?.osquery?.[index], placeholder, lookup);
    if (query === null) {
      if (!unmatched.includes(placeholder)) unmatched.push(placeholder);
      return null;
    }
    queries.push(query);
    refs.set(placeholder, queries.length - 1);
    return queries.length - 1;
  };

  const inlines = (nodes: readonly Inline[]): Inline[] => nodes.flatMap((node): Inline[] => {
    switch (node.type) {
      case "text":
        return splitText(node.value, refFor);
      case "emphasis":
      case "strong":
        return [{ type: node.type, children: inlines(node.children) }];
      case "link":
        return [{ type: "link", url: node.url, children: inlines(node.children) }];
      case "code":
      case "query":
        // Code is shown as written: a placeholder inside backticks is being talked about.
        return [node];
      default:
        return assertNever(node);
    }
  });
  const item = (it: GuideListItem): GuideListItem => ({ inline: inlines(it.inline), children: blocks(it.children) });
  const blocks = (bs: readonly GuideBlock[]): GuideBlock[] => bs.map((b): GuideBlock => {
    switch (b.type) {
      case "paragraph":
        return { type: "paragraph", inline: inlines(b.inline) };
      case "list":
        return { type: "list", ordered: b.ordered, items: b.items.map(item) };
      case "code":
        return b;
      default:
        return assertNever(b);
    }
  });
  const sections = guide.sections.map((s): GuideSection => ({ kind: s.kind, title: s.title, blocks: blocks(s.blocks) }));
  return { guide: { ...guide, sections }, queries, unmatched };
}

function splitText(value: string, refFor: (kind: PlaceholderKind, index: number, placeholder: string) => number | null): Inline[] {
  const out: Inline[] = [];
  let last = 0;
  for (const m of value.matchAll(PLACEHOLDER)) {
    const ref = refFor(m[1] === "investigate" ? "investigate" : "osquery", Number(m[2]), m[0]);
    if (ref === null) continue;
    if (m.index > last) out.push({ type: "text", value: value.slice(last, m.index) });
    out.push({ type: "query", ref });
    last = m.index + m[0].length;
  }
  if (last === 0) return [{ type: "text", value }];
  if (last < value.length) out.push({ type: "text", value: value.slice(last) });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field values

/** A field's value from the alert's events, as text (or a number), or null. Memoized per field. */
type FieldLookup = (field: string) => FieldValue | null;
type FieldValue = { readonly kind: "string"; readonly text: string } | { readonly kind: "number"; readonly text: string };

function fieldLookup(events: readonly Record<string, unknown>[]): FieldLookup {
  const cache = new Map<string, FieldValue | null>();
  return (field) => {
    const cached = cache.get(field);
    if (cached !== undefined) return cached;
    let found: FieldValue | null = null;
    const path = field.split(".");
    for (const event of events) {
      if (event["missing"] === true) continue;
      found = scalar(getRaw(event, path));
      if (found !== null) break;
    }
    cache.set(field, found);
    return found;
  };
}

function scalar(raw: unknown): FieldValue | null {
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (typeof v === "string") return v === "" || UNUSABLE.test(v) ? null : { kind: "string", text: v };
  if (typeof v === "number") return Number.isFinite(v) ? { kind: "number", text: String(v) } : null;
  if (typeof v === "boolean") return { kind: "string", text: String(v) };
  return null;
}

/**
 * Control characters no query literal can carry safely: NUL ends the query for C callers
 * (osquery), and the others are invisible in a card; tab, CR and LF have escapes (KQL) or are
 * allowed in literals (SQL).
 */
const UNUSABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Fills templates; `render` turns a found value into query text, unfilled ones stay as written. */
function fillTemplates(text: string, lookup: FieldLookup, unresolved: string[], render: (v: FieldValue) => string): string {
  return text.replace(TEMPLATE, (whole, name: string) => {
    const field = name.trim();
    const value = field === "" ? null : lookup(field);
    if (value === null) {
      if (!unresolved.includes(field)) unresolved.push(field);
      return whole;
    }
    return render(value);
  });
}

// ---------------------------------------------------------------------------------------------
// KQL ($investigate_N)

function investigateQuery(entry: InvestigateTransform | undefined, placeholder: string, lookup: FieldLookup): ResolvedQuery | null {
  if (entry === undefined) return null;
  const unresolved: string[] = [];
  const groups = entry.providers
    .map((group) => group.map((p) => kqlCondition(p, lookup, unresolved)))
    .filter((g) => g.length > 0);
  // One group needs no parentheses; several are an OR of parenthesized AND-groups, as Timeline
  // writes them.
  const query = groups.length === 1
    ? groups[0]!.join(" and ")
    : groups.map((g) => (g.length > 1 ? `(${g.join(" and ")})` : g.join(""))).join(" or ");
  // Kibana applies the range only when both ends are given.
  const timeRange = entry.relativeFrom && entry.relativeTo ? { from: entry.relativeFrom, to: entry.relativeTo } : undefined;
  return {
    placeholder,
    language: "kql",
    label: entry.label,
    // The corpus writes `description = ""` for none.
    description: entry.description ? entry.description : null,
    query,
    unresolved,
    ...(timeRange === undefined ? {} : { timeRange }),
  };
}

function kqlCondition(p: InvestigateProvider, lookup: FieldLookup, unresolved: string[]): string {
  const field = kqlField(p.field);
  const fill = (raw: string): string => kqlString(fillTemplates(raw, lookup, unresolved, (v) => v.text));
  let expr: string;
  switch (p.queryType) {
    case "exists":
      expr = `${field} : *`;
      break;
    case "phrases": {
      const values = jsonStrings(p.value);
      expr = values === null ? `${field} : ${fill(p.value)}` : `${field} : (${values.map(fill).join(" or ")})`;
      break;
    }
    case "range": {
      const bounds = jsonRange(p.value);
      const parts = bounds === null ? [] : [
        ...(bounds.gte === null ? [] : [`${field} >= ${fill(bounds.gte)}`]),
        ...(bounds.lt === null ? [] : [`${field} < ${fill(bounds.lt)}`]),
      ];
      expr = parts.length === 0 ? `${field} : ${fill(p.value)}` : `(${parts.join(" and ")})`;
      break;
    }
    default:
      // "phrase", and whatever Kibana treats like it (its IS operator).
      expr = `${field} : ${fill(p.value)}`;
  }
  return p.excluded ? `not ${expr}` : expr;
}

/** A KQL quoted string: `\` and `"` escaped, tab/CR/LF written as escapes (Kibana's escapeQuotedString). */
function kqlString(value: string): string {
  const escaped = value
    .replace(/[\\"]/g, "\\$&")
    .replace(/\t/g, "\\t")
    .replace(/\r/g, "\\r")
    .replace(/\n/g, "\\n");
  return `"${escaped}"`;
}

/** A field name as an unquoted KQL literal: KQL's special characters and whitespace escaped. */
function kqlField(field: string): string {
  return field.replace(/[\\():<>"*{}]/g, "\\$&").replace(/\s/g, (ch) => `\\${ch}`);
}

function jsonStrings(value: string): string[] | null {
  const parsed = parseJson(value);
  if (!Array.isArray(parsed) || parsed.length === 0) return null;
  const out: string[] = [];
  for (const v of parsed) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push(String(v));
    else return null;
  }
  return out;
}

function jsonRange(value: string): { gte: string | null; lt: string | null } | null {
  const parsed = parseJson(value);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  const bound = (key: string): string | null => {
    const v: unknown = Object.hasOwn(parsed, key) ? (parsed as Record<string, unknown>)[key] : undefined;
    return typeof v === "string" || typeof v === "number" ? String(v) : null;
  };
  return { gte: bound("gte"), lt: bound("lt") };
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// osquery SQL ($osquery_N)

function osqueryQuery(entry: OsqueryTransform | undefined, placeholder: string, lookup: FieldLookup): ResolvedQuery | null {
  if (entry === undefined) return null;
  const unresolved: string[] = [];
  return {
    placeholder,
    language: "osquery",
    label: entry.label,
    description: null,
    query: fillSql(entry.query.trim(), lookup, unresolved),
    unresolved,
  };
}

type SqlState = "code" | "string" | "identifier" | "bracket" | "backtick" | "line_comment" | "block_comment";

/**
 * Fills the templates of an osquery (SQLite) query by where they stand: in a '...' literal the
 * value is inserted with `'` doubled; in code it becomes a literal of its own. Templates inside
 * identifiers or comments are not values and are left unfilled (and reported).
 *
 * A value inside a LIKE pattern keeps its `%` and `_`: they can widen the match but cannot end
 * the literal, and an ESCAPE clause cannot be added to the author's query safely.
 */
function fillSql(sql: string, lookup: FieldLookup, unresolved: string[]): string {
  let out = "";
  let state: SqlState = "code";
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "{" && sql[i + 1] === "{") {
      const m = templateAt(sql, i);
      if (m !== null) {
        const field = m.name.trim();
        const value = state === "code" || state === "string" ? lookup(field) : null;
        if (value === null) {
          if (!unresolved.includes(field)) unresolved.push(field);
          out += m.whole;
        } else if (state === "string") {
          out += value.text.replace(/'/g, "''");
        } else {
          out += value.kind === "number" ? value.text : `'${value.text.replace(/'/g, "''")}'`;
        }
        i += m.whole.length;
        continue;
      }
    }
    out += ch;
    i++;
    switch (state) {
      case "code":
        if (ch === "'") state = "string";
        else if (ch === '"') state = "identifier";
        else if (ch === "[") state = "bracket";
        else if (ch === "`") state = "backtick";
        else if (ch === "-" && sql[i] === "-") { out += "-"; i++; state = "line_comment"; }
        else if (ch === "/" && sql[i] === "*") { out += "*"; i++; state = "block_comment"; }
        break;
      case "string":
        // '' inside a literal is an escaped quote: consume both and stay in the literal.
        if (ch === "'") {
          if (sql[i] === "'") { out += "'"; i++; } else state = "code";
        }
        break;
      case "identifier":
        if (ch === '"') {
          if (sql[i] === '"') { out += '"'; i++; } else state = "code";
        }
        break;
      case "bracket":
        if (ch === "]") state = "code";
        break;
      case "backtick":
        if (ch === "`") {
          if (sql[i] === "`") { out += "`"; i++; } else state = "code";
        }
        break;
      case "line_comment":
        if (ch === "\n") state = "code";
        break;
      case "block_comment":
        if (ch === "*" && sql[i] === "/") { out += "/"; i++; state = "code"; }
        break;
      default:
        return assertNever(state);
    }
  }
  return out;
}

const TEMPLATE_AT = new RegExp(TEMPLATE.source, "y");

function templateAt(sql: string, at: number): { whole: string; name: string } | null {
  TEMPLATE_AT.lastIndex = at;
  const m = TEMPLATE_AT.exec(sql);
  return m === null ? null : { whole: m[0], name: m[1]! };
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
