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
 * repeat across events (process names, executables, parent names, registry values), so each
 * field keeps a cache from a text value to the atoms of the field that hold for it:
 * - the first time a value is seen, its entry knows the equalities it satisfies (`f == "x"`,
 *   `f in (...)`, `f : "x"` without wildcards: one hash lookup of the value and one of its
 *   lower-cased form), and other atoms are tested on demand and remembered;
 * - the second time, the entry is completed: every atom of the field is decided once, and the
 *   entry keeps the list of those that hold. From then on, reading the field marks that list,
 *   every other atom of the field is false, and the stage index can look up stages anchored on
 *   any of them (wildcards included), not only on equalities.
 * Values seen once (command lines with unique ids) never pay for a completion.
 */

export interface Equality {
  /** The literals; lower-cased when `ci`. */
  readonly values: readonly string[];
  readonly ci: boolean;
  /**
   * Every literal is non-numeric text. Then a lookup of `String(x)` finds the atom whenever it
   * holds for any scalar x (a number equals numeric text only; `true` equals "true"), which is what
   * a stage index needs for numbers and booleans; numeric text is still decided exactly for text.
   */
  readonly indexable: boolean;
}

/** A field's cached knowledge of one text value. */
interface ValueEntry {
  /** Until complete: per atom of the field (by position), 0 unknown, 1 false, 2 true. */
  results: Uint8Array | null;
  /** The equality atoms the value satisfies. */
  readonly hits: readonly number[];
  /** Once complete: every atom of the field that holds for the value. */
  trueAtoms: Int32Array | null;
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

export class AtomTable {
  private readonly ids = new Map<string, number>();
  /** `or` chains that compile.ts does not index (so they are split into atoms). */
  private readonly notChains = new Set<string>();
  private readonly mappingIds = new Map<Mappings, number>();
  /** Per atom: the predicate (any atom) and, for field atoms, the element test. */
  private readonly preds: Predicate[] = [];
  private readonly tests: (ElementTest | null)[] = [];
  /** Per atom: its equality form, when it has one. */
  readonly equality: (Equality | null)[] = [];
  /** Per atom: how selective it is as an index key (lower is better; Infinity: not a field atom). */
  readonly keyScore: number[] = [];
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
  /** Stamped when a complete value entry of the current event says the atom holds. */
  private trueGen = new Int32Array(0);
  private fieldOf = new Int32Array(0);
  private position = new Int32Array(0);
  private fieldGen = new Int32Array(0);
  private fieldValue: Value[] = [];
  /** The entry of each scalar of the field's value (cached, or fresh for long text). */
  private fieldEntries: ValueEntry[][] = [];
  /** 1 when a scalar of the field's value has no complete entry: its atoms are decided on demand. */
  private fieldLazy = new Uint8Array(0);
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

  /** The field an atom reads (-1 for atoms that are not field atoms). */
  fieldOfAtom(id: number): number {
    return this.fieldOfList[id]!;
  }

  /** Whether a hash lookup finds the atom for every scalar it holds for (see `Equality.indexable`). */
  isIndexable(id: number): boolean {
    return this.equality[id]?.indexable === true;
  }

  /** Allocates the per-event state once every atom is interned. */
  seal(): void {
    const n = this.preds.length;
    this.memoGen = new Int32Array(n);
    this.memoVal = new Uint8Array(n);
    this.trueGen = new Int32Array(n);
    this.fieldOf = Int32Array.from(this.fieldOfList);
    this.position = Int32Array.from(this.positionList);
    this.fieldGen = new Int32Array(this.fields.length);
    this.fieldValue = this.fields.map(() => null);
    this.fieldEntries = this.fields.map(() => []);
    this.fieldLazy = new Uint8Array(this.fields.length);
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
      this.trueGen.fill(0);
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
      r = this.trueGen[id] === gen || (this.fieldLazy[f] === 1 && this.lazyFieldAtom(f, id));
    }
    this.memoGen[id] = gen;
    this.memoVal[id] = r ? 1 : 0;
    return r;
  }

  /**
   * Calls `hit` with atoms of field `f` that may hold for the current event, and returns whether
   * the list is only partial. For a scalar with a complete entry, `hit` gets every atom that holds
   * (exactly); otherwise, for text, the equalities it satisfies, and for a number or a boolean,
   * the equalities whose literal is its text (every `indexable` equality that holds among them).
   * When the result is true, atoms other than indexable equalities may hold without `hit` having
   * seen them.
   */
  forEachHit(f: number, hit: (atom: number) => void): boolean {
    if (this.fieldGen[f] !== this.gen) this.resolve(f);
    const v = this.fieldValue[f]!;
    if (v === null) return false;
    const entries = this.fieldEntries[f]!;
    const n = typeof v === "object" ? v.length : 1;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      const list = e.trueAtoms ?? e.hits;
      for (let k = 0; k < list.length; k++) hit(list[k]!);
    }
    return this.fieldLazy[f] === 1;
  }

  /** A field atom on the scalars without a complete entry (the others have stamped `trueGen`). */
  private lazyFieldAtom(f: number, id: number): boolean {
    const v = this.fieldValue[f]!;
    const entries = this.fieldEntries[f]!;
    const pos = this.position[id]!;
    const n = typeof v === "object" ? v!.length : 1;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (e.trueAtoms !== null) continue;
      const s = typeof v === "object" ? v![i]! : (v as Scalar);
      const results = e.results!;
      let r = results[pos]!;
      if (r === 0) {
        r = this.tests[id]!(s) ? 2 : 1;
        results[pos] = r;
      }
      if (r === 2) return true;
    }
    return false;
  }

  /** Reads field `f` of the current event and finds (or makes) the cache entry of each text scalar. */
  private resolve(f: number): void {
    const gen = this.gen;
    this.fieldGen[f] = gen;
    this.fieldLazy[f] = 0;
    const seg = this.fieldSegment[f]!;
    if (seg >= 0) {
      if (this.scannedGen !== gen) this.scanTop();
      if (this.segmentGen[seg] !== gen) {
        this.fieldValue[f] = null;
        return;
      }
    }
    const st = this.fields[f]!;
    const v = st.get(this.event!);
    this.fieldValue[f] = v;
    if (v === null) return;
    const entries = this.fieldEntries[f]!;
    const n = typeof v === "object" ? v.length : 1;
    let lazy = 0;
    for (let i = 0; i < n; i++) {
      const e = this.entry(st, typeof v === "object" ? v[i]! : v);
      entries[i] = e;
      const t = e.trueAtoms;
      if (t === null) lazy = 1;
      else for (let k = 0; k < t.length; k++) this.trueGen[t[k]!] = gen;
    }
    this.fieldLazy[f] = lazy;
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

  /** The entry of a scalar: cached values are completed when seen a second time. */
  private entry(st: FieldState, s: Scalar): ValueEntry {
    const text = typeof s === "string";
    if (text && s.length > CACHE_MAX_CHARS) return this.fresh(st, s);
    // Numbers and booleans are cached under keys no text can have (they compare by other rules).
    const key = text ? s : (typeof s === "number" ? "\u0000n" : "\u0000b") + String(s);
    const cached = st.cache.get(key);
    if (cached !== undefined) {
      if (cached.trueAtoms === null) this.complete(st, s, cached);
      return cached;
    }
    const e = this.fresh(st, s);
    if (st.cache.size >= CACHE_ENTRIES) st.cache.clear();
    st.cache.set(key, e);
    return e;
  }

  /**
   * A new entry. For text, the equalities it satisfies are known (a hash lookup of the value and
   * of its lower-cased form) and the other equalities are false; for a number or a boolean,
   * `hits` lists the equalities whose literal is its text, a superset of the indexable ones that
   * hold, and every atom is left to its test.
   */
  private fresh(st: FieldState, s: Scalar): ValueEntry {
    const text = typeof s === "string";
    const results = text ? st.template.slice() : new Uint8Array(st.atoms.length);
    const hits: number[] = [];
    const str = text ? s : String(s);
    const mark = (positions: readonly number[] | undefined) => {
      if (positions) for (const p of positions) {
        if (results[p] !== 2) hits.push(st.atoms[p]!);
        if (text) results[p] = 2;
      }
    };
    mark(st.cs.get(str));
    if (st.ci.size > 0) mark(st.ci.get(lower(str)));
    return { results, hits, trueAtoms: null };
  }

  /** Decides every atom of the field for the value, keeping those that hold. */
  private complete(st: FieldState, s: Scalar, e: ValueEntry): void {
    const results = e.results!;
    const out: number[] = [];
    for (let p = 0; p < results.length; p++) {
      let r = results[p]!;
      if (r === 0) r = this.tests[st.atoms[p]!]!(s) ? 2 : 1;
      if (r === 2) out.push(st.atoms[p]!);
    }
    e.trueAtoms = Int32Array.from(out);
    e.results = null;
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
    const eq = el ? equalityOf(e) : null;
    this.equality.push(eq);
    this.cost.push(eq ? 1 : costOf(e));
    this.keyScore.push(el ? keyScore(e, el.field.name, eq) : Infinity);
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
}

/**
 * The equality form of a field atom, when a set lookup of a text value decides it (compile.ts:
 * `==` on text is `===`, `in` and `:`/`like` without wildcards look the text, folded for `~`
 * and `:`, up in a set).
 */
function equalityOf(e: Expr): Equality | null {
  const text = (x: Expr): x is Expr & { kind: "Literal"; value: string } => x.kind === "Literal" && typeof x.value === "string";
  let values: string[];
  let ci: boolean;
  switch (e.kind) {
    case "Compare": {
      if (e.op !== "==") return null;
      if (e.left.kind === "Field" && text(e.right)) values = [e.right.value];
      else if (e.right.kind === "Field" && text(e.left)) values = [e.left.value];
      else return null;
      ci = false;
      break;
    }
    case "In":
      if (e.negated || e.values.length === 0 || !e.values.every(text)) return null;
      ci = e.caseInsensitive;
      values = e.values.map((v) => (v as { value: string }).value);
      break;
    case "Match":
      if (e.op === "regex" || e.patterns.length === 0) return null;
      if (!e.patterns.every((p) => typeof p.value === "string" && !hasWildcards(p.value))) return null;
      ci = e.caseInsensitive;
      values = e.patterns.map((p) => p.value as string);
      break;
    default:
      return null;
  }
  const vals = [...new Set(ci ? values.map(lower) : values)];
  return { values: vals, ci, indexable: vals.every((v) => !NUMERIC.test(v)) };
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

/**
 * How selective a field atom is as an index key, without data: fields shared by most events of a
 * category score high, so do patterns that match nearly anything (`*`, `?*`) and comparisons;
 * otherwise the fewer the values or patterns, the better. Equalities are preferred a little:
 * they are found even for values seen once.
 */
function keyScore(e: Expr, field: string, eq: Equality | null): number {
  const low = LOW_SELECTIVITY.has(field) ? 1_000_000 : 0;
  if (eq) return low + eq.values.length;
  if (e.kind === "Match") {
    const loose = e.patterns.some((p) => typeof p.value === "string" && /^[*?]*$/.test(p.value));
    return low + (loose ? 1_000_000 : 0) + e.patterns.length + 4;
  }
  if (e.kind === "In") return low + e.values.length + 4;
  return low + 1_000; // a comparison (`pid == 4`, `port > 1024`): many values hold
}
