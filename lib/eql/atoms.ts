import type { Expr } from "./ast.js";
import { atomPredicate, elementTest, orChainPredicate, type ElementTest, type Predicate } from "./compile.js";
import { lower } from "./lower.js";
import type { Mappings } from "./mapping.js";
import { LOW_SELECTIVITY } from "./requirements.js";
import { unmemoisedFieldGetter, type Event, type FieldGetter, type Scalar, type Value } from "./values.js";
import { hasWildcards } from "./wildcard.js";

/**
 * The distinct tests ("atoms") of a set of stage conditions, each evaluated at most once per event.
 *
 * Why: with all 1,024 production rules, a typical event reaches dozens of candidate stages, and
 * their conditions repeat the same tests (`host.os.type == "windows"` in 522 rules, `event.type ==
 * "start"` in 610, `process.name : (...)` lists everywhere). Evaluated stage by stage, each test
 * drags its own closures and data into the cache; profiled, that made evaluation bound by cache
 * misses (a candidate stage cost ~2 µs event by event, ~0.9 µs with its data hot). Here each
 * distinct test is one atom, memoised per event in small typed arrays.
 *
 * Field atoms: most tests read one field and hold when one of its scalars passes a test
 * (`:`/`like`/`regex`, `in`, a comparison with a literal: compile.ts `elementTest`). Field values
 * repeat across events (process names, executables, registry paths), so each field keeps a cache
 * from a text value to the results of its atoms on that value, filled as atoms are asked. Per
 * event, a field costs one lookup per text value, and an atom on it one byte read; the wildcard
 * and regex matching of a value happens once per distinct value, not once per event.
 *
 * Equalities (`f == "x"`, `f in ("x", "y")`, `f : "x"` and the like, without wildcards) on a field
 * are decided together when a value enters the cache: one hash lookup of the value (and of its
 * lower-cased form) finds every equality it satisfies. The stage index also reads that list to
 * find the stages anchored on those equalities.
 */

export interface Equality {
  /** The field, as an index into the table's fields. */
  readonly field: number;
  /** The literals; lower-cased when `ci`. */
  readonly values: readonly string[];
  readonly ci: boolean;
  /**
   * Every literal is non-numeric text. Then a lookup of `String(x)` finds the atom whenever it
   * holds for any scalar x (a number equals numeric text only; `true` equals "true"), which is what
   * a stage index needs for numbers and booleans; numeric text is still decided exactly for text.
   */
  readonly indexable: boolean;
  /** The dotted field name, for selectivity heuristics. */
  readonly name: string;
}

/** A field's cached results for one text value. */
interface ValueEntry {
  /** Per atom of the field (by its position in the field): 0 unknown, 1 false, 2 true. */
  readonly results: Uint8Array;
  /** The equality atoms the value satisfies. */
  readonly hits: readonly number[];
}

interface FieldState {
  readonly get: FieldGetter;
  /** Atom ids on this field, by position. */
  readonly atoms: number[];
  /** Equality literal (lower-cased for ci) -> positions of the equality atoms it satisfies. */
  readonly cs: Map<string, number[]>;
  readonly ci: Map<string, number[]>;
  /** Fresh results for a new value: 1 (false) for equality atoms, 0 (unknown) for the others. */
  template: Uint8Array;
  readonly cache: Map<string, ValueEntry>;
}

/** Values this long are not cached (command lines with unique ids would only evict others). */
const CACHE_MAX_CHARS = 512;
/** Entries per field before its cache starts over. */
const CACHE_ENTRIES = 4096;

const NO_ENTRY: ValueEntry = { results: new Uint8Array(0), hits: [] };

export class AtomTable {
  private readonly ids = new Map<string, number>();
  /** `or` chains that compile.ts does not index (so they are split into atoms). */
  private readonly notChains = new Set<string>();
  private readonly mappingIds = new Map<Mappings, number>();
  /** Per atom: the predicate (any atom) and, for field atoms, the element test. */
  private readonly preds: Predicate[] = [];
  private readonly tests: (ElementTest | null)[] = [];
  readonly equality: (Equality | null)[] = [];
  /** Estimated relative cost of each atom, for ordering tests cheapest first. */
  readonly cost: number[] = [];
  private readonly fieldOfList: number[] = [];
  private readonly positionList: number[] = [];
  private readonly fieldIds = new Map<string, number>();
  private readonly fields: FieldState[] = [];
  /** First path segments of the fields, and each field's (-1: not checked). */
  private readonly segmentIds = new Map<string, number>();
  private readonly fieldSegmentList: number[] = [];

  // Per-event state, sized by `seal()`: an entry is valid when its stamp equals `gen`.
  private event: Event | null = null;
  private gen = 0;
  private memoGen = new Int32Array(0);
  private memoVal = new Uint8Array(0);
  private fieldOf = new Int32Array(0);
  private position = new Int32Array(0);
  private fieldGen = new Int32Array(0);
  private fieldValue: Value[] = [];
  /** The cache entry of each scalar of the field's value (NO_ENTRY for scalars that are not cached). */
  private fieldEntries: ValueEntry[][] = [];
  private fieldSegment = new Int32Array(0);
  /** Stamped with `gen` when the current event has a top-level key starting with the segment. */
  private segmentGen = new Int32Array(0);
  private scannedGen = 0;

  /** The atom of an expression (any expression, including `and`/`or` subtrees kept opaque). */
  intern(e: Expr, mappings: Mappings): number {
    return this.internWith(e, mappings, null);
  }

  /**
   * The atom of a long `or` chain that compile.ts indexes by one field (a lookup selects the
   * disjuncts to test), or null when the chain is not indexable: then it is better split.
   */
  orChain(e: Expr, mappings: Mappings): number | null {
    const key = this.key(e, mappings);
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    if (this.notChains.has(key)) return null;
    const p = orChainPredicate(e, mappings);
    if (p) return this.internWith(e, mappings, p);
    this.notChains.add(key);
    return null;
  }

  get size(): number {
    return this.preds.length;
  }

  /** Allocates the per-event state once every atom is interned. */
  seal(): void {
    const n = this.preds.length;
    this.memoGen = new Int32Array(n);
    this.memoVal = new Uint8Array(n);
    this.fieldOf = Int32Array.from(this.fieldOfList);
    this.position = Int32Array.from(this.positionList);
    this.fieldGen = new Int32Array(this.fields.length);
    this.fieldValue = this.fields.map(() => null);
    this.fieldEntries = this.fields.map(() => []);
    this.fieldSegment = Int32Array.from(this.fieldSegmentList);
    this.segmentGen = new Int32Array(this.segmentIds.size);
    this.scannedGen = 0;
    for (const f of this.fields) {
      const t = new Uint8Array(f.atoms.length);
      f.atoms.forEach((id, i) => {
        if (this.equality[id]) t[i] = 1;
      });
      f.template = t;
    }
    this.gen = 0;
  }

  /** Starts evaluating a new event: every memo entry of the previous one becomes stale. */
  begin(event: Event): void {
    this.event = event;
    if (this.gen === 0x7fffffff) {
      this.gen = 0;
      this.memoGen.fill(0);
      this.fieldGen.fill(0);
      this.segmentGen.fill(0);
      this.scannedGen = 0;
    }
    this.gen++;
  }

  /** Whether atom `id` holds for the current event. */
  truth(id: number): boolean {
    const gen = this.gen;
    if (this.memoGen[id] === gen) return this.memoVal[id] === 1;
    const f = this.fieldOf[id]!;
    let r: boolean;
    if (f < 0) r = this.preds[id]!(this.event!);
    else {
      if (this.fieldGen[f] !== gen) this.resolve(f);
      r = this.fieldAtom(f, id);
    }
    this.memoGen[id] = gen;
    this.memoVal[id] = r ? 1 : 0;
    return r;
  }

  /**
   * Calls `fn` with every equality atom on field `f` that may hold for the current event: for a
   * text scalar, exactly those that hold; for a number or a boolean, those with a literal equal to
   * its text, which includes every `indexable` equality that holds (see `Equality`).
   */
  forEachEqualityHit(f: number, fn: (atom: number) => void): void {
    if (this.fieldGen[f] !== this.gen) this.resolve(f);
    const v = this.fieldValue[f]!;
    if (v === null) return;
    const entries = this.fieldEntries[f]!;
    const st = this.fields[f]!;
    const n = typeof v === "object" ? v.length : 1;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (e !== NO_ENTRY) {
        for (let k = 0; k < e.hits.length; k++) fn(e.hits[k]!);
        continue;
      }
      const text = String(typeof v === "object" ? v[i]! : v);
      const each = (positions: readonly number[] | undefined) => {
        if (positions) for (const p of positions) fn(st.atoms[p]!);
      };
      each(st.cs.get(text));
      if (st.ci.size > 0) each(st.ci.get(lower(text)));
    }
  }

  private fieldAtom(f: number, id: number): boolean {
    const v = this.fieldValue[f]!;
    if (v === null) return false;
    const entries = this.fieldEntries[f]!;
    const pos = this.position[id]!;
    if (typeof v !== "object") return this.scalarAtom(id, pos, v, entries[0]!);
    for (let i = 0; i < v.length; i++) if (this.scalarAtom(id, pos, v[i]!, entries[i]!)) return true;
    return false;
  }

  private scalarAtom(id: number, pos: number, s: Scalar, entry: ValueEntry): boolean {
    if (entry === NO_ENTRY) return this.elementTruth(id, s);
    let r = entry.results[pos]!;
    if (r === 0) {
      r = this.elementTruth(id, s) ? 2 : 1;
      entry.results[pos] = r;
    }
    return r === 2;
  }

  /** An atom on one scalar, without the cache: equality atoms by their literals, others by their test. */
  private elementTruth(id: number, s: Scalar): boolean {
    return this.tests[id]!(s);
  }

  /** Reads field `f` of the current event and finds (or makes) the cache entry of each text scalar. */
  private resolve(f: number): void {
    const st = this.fields[f]!;
    this.fieldGen[f] = this.gen;
    const seg = this.fieldSegment[f]!;
    if (seg >= 0) {
      if (this.scannedGen !== this.gen) this.scanTop();
      if (this.segmentGen[seg] !== this.gen) {
        this.fieldValue[f] = null;
        return;
      }
    }
    const v = st.get(this.event!);
    this.fieldValue[f] = v;
    if (v === null) return;
    const entries = this.fieldEntries[f]!;
    if (typeof v !== "object") entries[0] = this.entry(st, v);
    else for (let i = 0; i < v.length; i++) entries[i] = this.entry(st, v[i]!);
  }

  /**
   * Notes the first segments of the current event's top-level keys. A field `a.b.c` can only be
   * found under a top-level key `a`, `a.b` or `a.b.c`: without a key equal to `a` or starting with
   * `a.`, it is missing, and its getter need not run. Most fields a rule set reads belong to other
   * data sources (`kubernetes.*`, `azure.*`, `winlog.*` on an endpoint event), so most fields are
   * settled here with one pass over a dozen keys.
   */
  private scanTop(): void {
    const gen = this.gen;
    this.scannedGen = gen;
    const e = this.event!;
    if (Array.isArray(e)) {
      this.segmentGen.fill(gen); // an array event is resolved element by element: no shortcut
      return;
    }
    const ids = this.segmentIds;
    for (const k in e) {
      const dot = k.indexOf(".");
      const id = ids.get(dot < 0 ? k : k.substring(0, dot));
      if (id !== undefined) this.segmentGen[id] = gen;
    }
  }

  private entry(st: FieldState, s: Scalar): ValueEntry {
    if (typeof s !== "string") return NO_ENTRY;
    const cached = st.cache.get(s);
    if (cached !== undefined) return cached;
    const results = st.template.slice();
    const hits: number[] = [];
    const mark = (positions: readonly number[] | undefined) => {
      if (positions) for (const p of positions) {
        if (results[p] !== 2) hits.push(st.atoms[p]!);
        results[p] = 2;
      }
    };
    mark(st.cs.get(s));
    if (st.ci.size > 0) mark(st.ci.get(lower(s)));
    const e: ValueEntry = { results, hits };
    if (s.length <= CACHE_MAX_CHARS) {
      if (st.cache.size >= CACHE_ENTRIES) st.cache.clear();
      st.cache.set(s, e);
    }
    return e;
  }

  private key(e: Expr, mappings: Mappings): string {
    return canonical(e) + "\u0000" + this.mappingId(mappings);
  }

  private internWith(e: Expr, mappings: Mappings, compiled: Predicate | null): number {
    const key = this.key(e, mappings);
    let id = this.ids.get(key);
    if (id !== undefined) return id;
    id = this.preds.length;
    this.ids.set(key, id);
    this.preds.push(compiled ?? atomPredicate(e, mappings));
    const el = compiled ? null : elementTest(e, mappings);
    this.tests.push(el ? el.test : null);
    const eq = el ? this.equalityOf(e) : null;
    this.equality.push(eq);
    this.cost.push(eq ? 1 : costOf(e));
    if (!el) {
      this.fieldOfList.push(-1);
      this.positionList.push(-1);
      return id;
    }
    const f = this.field(el.field.path);
    const st = this.fields[f]!;
    this.fieldOfList.push(f);
    this.positionList.push(st.atoms.length);
    if (eq) {
      const pos = st.atoms.length;
      const maps = eq.ci ? st.ci : st.cs;
      for (const v of eq.values) {
        const list = maps.get(v);
        if (list) list.push(pos);
        else maps.set(v, [pos]);
      }
    }
    st.atoms.push(id);
    return id;
  }

  private mappingId(m: Mappings): number {
    if (m.size === 0) return 0;
    let id = this.mappingIds.get(m);
    if (id === undefined) this.mappingIds.set(m, (id = this.mappingIds.size + 1));
    return id;
  }

  private field(path: readonly string[]): number {
    const key = JSON.stringify(path);
    let id = this.fieldIds.get(key);
    if (id === undefined) {
      id = this.fields.length;
      this.fieldIds.set(key, id);
      this.fields.push({ get: unmemoisedFieldGetter(path), atoms: [], cs: new Map(), ci: new Map(), template: new Uint8Array(0), cache: new Map() });
      // The first segment, unless it holds a dot itself (a backquoted name): see `scanTop`.
      const first = path[0]!;
      let seg = -1;
      if (!first.includes(".")) {
        seg = this.segmentIds.get(first) ?? this.segmentIds.size;
        this.segmentIds.set(first, seg);
      }
      this.fieldSegmentList.push(seg);
    }
    return id;
  }

  /**
   * The equality form of a field atom, when a set lookup of a text value decides it (compile.ts:
   * `==` on text is `===`, `in` and `:`/`like` without wildcards look the text, folded for `~`
   * and `:`, up in a set).
   */
  private equalityOf(e: Expr): Equality | null {
    const text = (x: Expr): x is Expr & { kind: "Literal"; value: string } => x.kind === "Literal" && typeof x.value === "string";
    let target: Expr;
    let values: string[];
    let ci: boolean;
    switch (e.kind) {
      case "Compare": {
        if (e.op !== "==") return null;
        if (e.left.kind === "Field" && text(e.right)) [target, values] = [e.left, [e.right.value]];
        else if (e.right.kind === "Field" && text(e.left)) [target, values] = [e.right, [e.left.value]];
        else return null;
        ci = false;
        break;
      }
      case "In":
        if (e.negated || e.values.length === 0 || !e.values.every(text)) return null;
        target = e.target;
        ci = e.caseInsensitive;
        values = e.values.map((v) => (v as { value: string }).value);
        break;
      case "Match":
        if (e.op === "regex" || e.patterns.length === 0) return null;
        if (!e.patterns.every((p) => typeof p.value === "string" && !hasWildcards(p.value))) return null;
        target = e.target;
        ci = e.caseInsensitive;
        values = e.patterns.map((p) => p.value as string);
        break;
      default:
        return null;
    }
    if (target.kind !== "Field") return null;
    const vals = [...new Set(ci ? values.map(lower) : values)];
    return { field: this.field(target.path), values: vals, ci, indexable: vals.every((v) => !NUMERIC.test(v)), name: target.name };
  }
}

/** Numeric-looking text, which also equals a number (values.ts `toNumber`). */
const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** An expression as a key: its structure without source positions. */
function canonical(e: Expr): string {
  return JSON.stringify(e, (k, v: unknown) => (k === "span" ? undefined : v));
}

/** A rough relative cost, so that conditions test cheap atoms first. */
function costOf(e: Expr): number {
  switch (e.kind) {
    case "Literal":
      return 0;
    case "Compare":
      return e.left.kind === "Call" || e.right.kind === "Call" ? 12 : 3;
    case "In":
      return 3;
    case "Match":
      if (e.op === "regex") return 30;
      return 3 + Math.min(e.patterns.length, 40) / 2;
    case "Call":
      return 12;
    case "Logical":
    case "Not":
      return 20;
    default:
      return 6;
  }
}

/** Score of an equality for choosing what to index a stage by: lower is more selective. */
export function selectivityScore(eq: Equality): number {
  return (LOW_SELECTIVITY.has(eq.name) ? 1_000_000 : 0) + eq.values.length;
}
