import { assertNever, type EventFilter, type Expr, type Query, type Stage } from "./ast.js";

/**
 * Prints an AST back to EQL. Every binary expression is parenthesised, so the output parses to
 * the same tree (the parse-print round trip is a property test).
 */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case "Literal":
      return e.decimal && typeof e.value === "number" && Number.isInteger(e.value)
        ? printLiteral(e.value).replace(/(\d+)/, "$1.0")
        : printLiteral(e.value);
    case "Field":
      return (e.optional ? "?" : "") + e.path.map(printSegment).join(".");
    case "Not":
      return `(not ${printExpr(e.operand)})`;
    case "Logical":
    case "Compare":
    case "Arith":
      return `(${printExpr(e.left)} ${e.op} ${printExpr(e.right)})`;
    case "Negate":
      return `(-${printExpr(e.operand)})`;
    case "In":
      return `(${printExpr(e.target)} ${e.negated ? "not " : ""}in${e.caseInsensitive ? "~" : ""} (${e.values.map(printExpr).join(", ")}))`;
    case "Match": {
      const op = e.op === ":" ? ":" : `${e.op}${e.caseInsensitive ? "~" : ""}`;
      return `(${printExpr(e.target)} ${op} (${e.patterns.map(printExpr).join(", ")}))`;
    }
    case "Call":
      return `${e.name}${e.caseInsensitive ? "~" : ""}(${e.args.map(printExpr).join(", ")})`;
    default:
      return assertNever(e);
  }
}

function printLiteral(v: string | number | boolean | null): string {
  if (v === null) return "null";
  if (typeof v === "string") {
    let out = '"';
    for (const ch of v) {
      const c = ch.codePointAt(0)!;
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (c < 0x20 || c === 0x7f || (c >= 0xd800 && c <= 0xdfff)) out += `\\u{${c.toString(16).padStart(2, "0")}}`;
      else out += ch;
    }
    return out + '"';
  }
  if (typeof v === "number") return v < 0 ? `(${String(v)})` : String(v);
  return String(v);
}

const PLAIN_SEGMENT = /^[A-Za-z_@][A-Za-z0-9_@]*$/;
const KEYWORDS = new Set([
  "and", "or", "not", "in", "like", "regex", "where", "any", "sequence", "sample", "join", "by",
  "with", "maxspan", "until", "true", "false", "null", "of",
]);

function printSegment(s: string): string {
  return PLAIN_SEGMENT.test(s) && !KEYWORDS.has(s) ? s : "`" + s.replace(/`/g, "``") + "`";
}

function printFilter(f: EventFilter): string {
  const cat = f.category === null ? "any" : PLAIN_SEGMENT.test(f.category) && !KEYWORDS.has(f.category) ? f.category : printLiteral(f.category);
  return `${cat} where ${printExpr(f.condition)}`;
}

function printStage(s: Stage): string {
  let out = `${s.missing ? "![" : "["}${printFilter(s.filter)}]`;
  if (s.by.length > 0) out += ` by ${s.by.map(printExpr).join(", ")}`;
  if (s.runs !== null) out += ` with runs=${s.runs}`;
  return out;
}

export function printQuery(q: Query): string {
  let out: string;
  switch (q.kind) {
    case "EventQuery":
      out = printFilter(q.filter);
      break;
    case "Sequence":
      out = "sequence";
      if (q.by.length > 0) out += ` by ${q.by.map(printExpr).join(", ")}`;
      if (q.maxspan) out += ` with maxspan=${q.maxspan.value}${q.maxspan.unit}`;
      out += "\n" + q.stages.map((s) => "  " + printStage(s)).join("\n");
      if (q.until) out += `\nuntil ${printStage(q.until)}`;
      break;
    case "Sample":
      out = "sample";
      if (q.by.length > 0) out += ` by ${q.by.map(printExpr).join(", ")}`;
      out += "\n" + q.stages.map((s) => "  " + printStage(s)).join("\n");
      break;
    default:
      return assertNever(q);
  }
  for (const p of q.pipes) out += ` | ${p.name} ${p.count}`;
  return out;
}
