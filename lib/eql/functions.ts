import ipaddr from "ipaddr.js";
import { scalarToString, toNumber, type Scalar, type Value } from "./values.js";

/**
 * The functions Elasticsearch EQL documents, with its null behaviour: a null (missing) required
 * argument gives null, which a comparison or a boolean test then treats as false. A multi-valued
 * first argument is applied element by element, so a test matches if any element matches.
 * Functions never throw: impossible input (division by zero, unparsable number) gives null.
 */
export interface FunctionSpec {
  /** Canonical name, as Elasticsearch documents it. */
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number; // Infinity for variadic
  /** Whether a `name~` case-insensitive variant exists. */
  readonly caseInsensitiveVariant: boolean;
  /** Argument positions that must be constants (literals), e.g. the CIDR blocks of cidrMatch. */
  readonly constantArgs?: (index: number) => boolean;
  readonly apply: (args: readonly Value[], caseInsensitive: boolean) => Value;
}

type Fn = FunctionSpec["apply"];

/** Applies `f` to each element of a multi-valued first argument; nulls are dropped. */
function lift(f: (first: Scalar, rest: readonly Value[], ci: boolean) => Scalar | null): Fn {
  return (args, ci) => {
    const first = args[0];
    if (first === null || first === undefined) return null;
    const rest = args.slice(1);
    if (typeof first !== "object") return f(first, rest, ci);
    const out: Scalar[] = [];
    for (const el of first) {
      const r = f(el, rest, ci);
      if (r !== null) out.push(r);
    }
    return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
  };
}

/** The first scalar of a value (other arguments are single-valued in practice). */
function one(v: Value | undefined): Scalar | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "object") return v.length > 0 ? v[0]! : null;
  return v;
}

function str(v: Value | undefined): string | null {
  const s = one(v);
  return s === null ? null : scalarToString(s);
}

function num(v: Value | undefined): number | null {
  const s = one(v);
  if (s === null) return null;
  const x = toNumber(s);
  return Number.isNaN(x) ? null : x;
}

function int(v: Value | undefined): number | null {
  const x = num(v);
  return x === null ? null : Math.trunc(x);
}

function fold(s: string, ci: boolean): string {
  return ci ? s.toLowerCase() : s;
}

function arith(op: (a: number, b: number) => number | null): Fn {
  return lift((a, rest) => {
    const x = toNumber(a);
    const y = num(rest[0]);
    if (Number.isNaN(x) || y === null) return null;
    const r = op(x, y);
    return r === null || !Number.isFinite(r) ? null : r;
  });
}

/** Arithmetic shared by the operators `+ - * / %` and the functions of the same meaning. */
export const ARITHMETIC: Readonly<Record<"+" | "-" | "*" | "/" | "%", (a: number, b: number) => number | null>> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  // Two integers divide as integers, as Elasticsearch's long arithmetic does.
  "/": (a, b) => (b === 0 ? null : Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b),
  "%": (a, b) => (b === 0 ? null : a % b),
};

/** Parsed CIDR blocks by text: rules repeat the same private ranges, and parsing IPv6 is slow. */
const cidrCache = new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number] | null>();

function parseCidr(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  let hit = cidrCache.get(text);
  if (hit === undefined) {
    hit = parseCidrUncached(text);
    if (cidrCache.size < 10_000) cidrCache.set(text, hit);
  }
  return hit;
}

function parseCidrUncached(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  try {
    if (text.includes("/")) return ipaddr.parseCIDR(text);
    const addr = ipaddr.parse(text);
    return [addr, addr.kind() === "ipv4" ? 32 : 128];
  } catch {
    return null;
  }
}

function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(text)) return null;
  try {
    const a = ipaddr.parse(text);
    return a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
  } catch {
    return null;
  }
}

/** Compiled cidrMatch: parses the CIDR blocks once. */
export function cidrMatcher(blocks: readonly string[]): ((ip: string) => boolean) | { error: string } {
  const parsed: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const b of blocks) {
    const c = parseCidr(b);
    if (!c) return { error: `invalid CIDR block [${b}]` };
    const [addr, bits] = c;
    parsed.push(addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96
      ? [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]
      : c);
  }
  return (ip) => {
    const a = parseIp(ip);
    if (!a) return false;
    for (const [net, bits] of parsed) if (net.kind() === a.kind() && a.match(net, bits)) return true;
    return false;
  };
}

function between(s: string, left: string, right: string, greedy: boolean, ci: boolean): string {
  const hay = fold(s, ci);
  const l = fold(left, ci);
  const r = fold(right, ci);
  const idx = hay.indexOf(l);
  if (idx < 0) return "";
  const start = idx + l.length;
  const end = greedy ? hay.lastIndexOf(r) : hay.indexOf(r, start);
  if (end < start) return "";
  return s.slice(start, end);
}

function substring(s: string, start: number, end: number | null): string {
  // Python slice semantics, as Elasticsearch's substring documents.
  const len = s.length;
  let a = start < 0 ? Math.max(0, len + start) : Math.min(start, len);
  let b = end === null ? len : end < 0 ? Math.max(0, len + end) : Math.min(end, len);
  if (a >= b) return "";
  return s.slice(a, b);
}

function parseNumber(text: string, base: number | null): number | null {
  const t = text.trim();
  if (base === null || base === 10) {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
    return Number(t);
  }
  if (!Number.isInteger(base) || base < 2 || base > 36) return null;
  let body = t;
  let sign = 1;
  if (body.startsWith("-")) { sign = -1; body = body.slice(1); } else if (body.startsWith("+")) body = body.slice(1);
  if (base === 16 && /^0x/i.test(body)) body = body.slice(2);
  const digits = "0123456789abcdefghijklmnopqrstuvwxyz".slice(0, base);
  if (body.length === 0 || ![...body.toLowerCase()].every((c) => digits.includes(c))) return null;
  return sign * parseInt(body, base);
}

const SPECS: FunctionSpec[] = [
  { name: "add", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: false, apply: arith(ARITHMETIC["+"]) },
  { name: "subtract", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: false, apply: arith(ARITHMETIC["-"]) },
  { name: "multiply", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: false, apply: arith(ARITHMETIC["*"]) },
  { name: "divide", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: false, apply: arith(ARITHMETIC["/"]) },
  { name: "modulo", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: false, apply: arith(ARITHMETIC["%"]) },
  {
    name: "between", minArgs: 3, maxArgs: 4, caseInsensitiveVariant: true,
    constantArgs: (i) => i === 3,
    apply: lift((s, rest, ci) => {
      const l = str(rest[0]);
      const r = str(rest[1]);
      if (l === null || r === null) return null;
      const g = rest.length > 2 ? one(rest[2]) : false;
      return between(scalarToString(s), l, r, g === true || g === "true", ci);
    }),
  },
  {
    name: "cidrMatch", minArgs: 2, maxArgs: Infinity, caseInsensitiveVariant: false,
    constantArgs: (i) => i >= 1,
    apply: (args) => {
      const blocks = args.slice(1).map(str).filter((b): b is string => b !== null);
      const m = cidrMatcher(blocks);
      if (typeof m !== "function") return null;
      return lift((ip) => m(scalarToString(ip)))([args[0] ?? null], false);
    },
  },
  {
    name: "concat", minArgs: 1, maxArgs: Infinity, caseInsensitiveVariant: false,
    apply: (args) => {
      let out = "";
      for (const a of args) {
        const s = str(a);
        if (s === null) return null;
        out += s;
      }
      return out;
    },
  },
  {
    name: "endsWith", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: true,
    apply: lift((s, rest, ci) => {
      const sub = str(rest[0]);
      return sub === null ? null : fold(scalarToString(s), ci).endsWith(fold(sub, ci));
    }),
  },
  {
    name: "indexOf", minArgs: 2, maxArgs: 3, caseInsensitiveVariant: true,
    apply: lift((s, rest, ci) => {
      const sub = str(rest[0]);
      if (sub === null) return null;
      const start = rest.length > 1 ? int(rest[1]) : 0;
      const r = fold(scalarToString(s), ci).indexOf(fold(sub, ci), Math.max(0, start ?? 0));
      return r < 0 ? null : r;
    }),
  },
  { name: "length", minArgs: 1, maxArgs: 1, caseInsensitiveVariant: false, apply: lift((s) => scalarToString(s).length) },
  {
    name: "number", minArgs: 1, maxArgs: 2, caseInsensitiveVariant: false,
    apply: lift((s, rest) => {
      if (typeof s === "number") return s;
      const base = rest.length > 0 ? int(rest[0]) : null;
      return parseNumber(scalarToString(s), base);
    }),
  },
  {
    name: "startsWith", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: true,
    apply: lift((s, rest, ci) => {
      const sub = str(rest[0]);
      return sub === null ? null : fold(scalarToString(s), ci).startsWith(fold(sub, ci));
    }),
  },
  { name: "string", minArgs: 1, maxArgs: 1, caseInsensitiveVariant: false, apply: lift((s) => scalarToString(s)) },
  {
    name: "stringContains", minArgs: 2, maxArgs: 2, caseInsensitiveVariant: true,
    apply: lift((s, rest, ci) => {
      const sub = str(rest[0]);
      return sub === null ? null : fold(scalarToString(s), ci).includes(fold(sub, ci));
    }),
  },
  {
    name: "substring", minArgs: 2, maxArgs: 3, caseInsensitiveVariant: false,
    apply: lift((s, rest) => {
      const start = int(rest[0]);
      if (start === null) return null;
      const end = rest.length > 1 ? int(rest[1]) : null;
      return substring(scalarToString(s), start, end);
    }),
  },
];

const BY_NAME = new Map(SPECS.map((s) => [s.name.toLowerCase(), s]));

/** Looks a function up by name, case-insensitively (`cidrMatch` and `cidrmatch` are the same). */
export function lookupFunction(name: string): FunctionSpec | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export const FUNCTION_NAMES: readonly string[] = SPECS.map((s) => s.name);
