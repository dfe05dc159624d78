import type { Compare, Expr } from "./ast.js";
import type { AtomTable } from "./atoms.js";
import type { Mappings } from "./mapping.js";

/**
 * A stage condition as a small program over atoms (see atoms.ts): the `and`/`or`/`not` skeleton,
 * flattened and stored in one Int32Array shared by all stages of an index, with each `and`/`or`
 * testing its cheapest operands first. The tests are pure and total (they never throw, and a
 * missing value makes a test false), so evaluating operands in another order gives the same
 * answer; it only changes how soon a false `and` or a true `or` is known.
 *
 * Why an array instead of closures: a rule set's compiled closures are tens of megabytes, and an
 * event touches ~70 stages of them in turn, so evaluation was bound by cache misses. A program is
 * a few dozen integers, and its shared atoms are memoised in small typed arrays.
 *
 * Layout: every node starts with [opcode, end], `end` being the offset after the node; an atom
 * is [ATOM, end, atomId]; `not` is [NOT, end, operand...]; `and`/`or` are [AND|OR, end,
 * operands...].
 */

const ATOM = 0;
const NOT = 1;
const AND = 2;
const OR = 3;

/** Nesting beyond this is compiled as one opaque atom, so evaluation never recurses deeply. */
const MAX_DEPTH = 32;

export type ProgramNode =
  | { readonly k: "atom"; readonly id: number; readonly cost: number }
  | { readonly k: "not"; readonly operand: ProgramNode; readonly cost: number }
  | { readonly k: "and" | "or"; readonly operands: readonly ProgramNode[]; readonly cost: number };

/** The program tree of a condition; the atoms are interned in `table`. */
export function programTree(e: Expr, mappings: Mappings, table: AtomTable, depth = 0): ProgramNode {
  const atom = (x: Expr): ProgramNode => {
    const id = table.intern(x, mappings);
    return { k: "atom", id, cost: table.cost[id]! };
  };
  const not = (n: ProgramNode): ProgramNode => (n.k === "not" ? n.operand : { k: "not", operand: n, cost: n.cost });
  if (depth > MAX_DEPTH) return atom(e);
  switch (e.kind) {
    case "Logical": {
      // Long `or` chains too are split into atoms (not compiled as compile.ts's indexed chain):
      // their disjuncts mostly start with an equality on one field, which costs a memo read here,
      // and shared atoms beat one opaque predicate (measured: ~9% faster with all rules).
      const operands = flatten(e, e.op).map((x) => programTree(x, mappings, table, depth + 1));
      // Stable sort: equal costs keep the written order.
      const sorted = operands.map((n, i) => [n, i] as const).sort((a, b) => a[0].cost - b[0].cost || a[1] - b[1]).map(([n]) => n);
      return { k: e.op, operands: sorted, cost: sorted.reduce((s, n) => s + n.cost, 0) };
    }
    case "Not":
      return not(programTree(e.operand, mappings, table, depth + 1));
    case "Compare":
      if (isNull(e.left) || isNull(e.right)) {
        // A presence test: `x == null` is `not (x != null)` (compile.ts: `=== null` and `!== null`).
        return e.op === "==" ? not(atom({ ...e, op: "!=" } satisfies Compare)) : atom(e);
      }
      // `x != v` is `not (x == v)` (compile.ts compiles it so).
      if (e.op === "!=") return not(atom({ ...e, op: "==" } satisfies Compare));
      return atom(e);
    case "In":
      return e.negated ? not(atom({ ...e, negated: false })) : atom(e);
    default:
      return atom(e);
  }
}

function isNull(e: Expr): boolean {
  return e.kind === "Literal" && e.value === null;
}

/** The operands of a chain of one operator, left to right, without recursion (chains can be long). */
function flatten(e: Expr, op: "and" | "or"): Expr[] {
  const out: Expr[] = [];
  const stack: Expr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.kind === "Logical" && x.op === op) stack.push(x.right, x.left);
    else out.push(x);
  }
  return out;
}

/** Appends a program to `code`; returns its offset. */
export function emitProgram(n: ProgramNode, code: number[]): number {
  const start = code.length;
  if (n.k === "atom") {
    code.push(ATOM, start + 3, n.id);
    return start;
  }
  code.push(n.k === "not" ? NOT : n.k === "and" ? AND : OR, 0);
  if (n.k === "not") emitProgram(n.operand, code);
  else for (const o of n.operands) emitProgram(o, code);
  code[start + 1] = code.length;
  return start;
}

/** Evaluates the program at `pc` on the table's current event. */
export function runProgram(code: Int32Array, pc: number, atoms: AtomTable): boolean {
  switch (code[pc]) {
    case ATOM:
      return atoms.truth(code[pc + 2]!);
    case NOT:
      return !runProgram(code, pc + 2, atoms);
    case AND: {
      const end = code[pc + 1]!;
      for (let p = pc + 2; p < end; p = code[p + 1]!) if (!runProgram(code, p, atoms)) return false;
      return true;
    }
    default: {
      const end = code[pc + 1]!;
      for (let p = pc + 2; p < end; p = code[p + 1]!) if (runProgram(code, p, atoms)) return true;
      return false;
    }
  }
}

/** A disjunction of field atoms: holds when one of them holds. */
export type Clause = readonly number[];

/**
 * Necessary conditions of a program as clauses of field atoms (a conjunction of disjunctions):
 * for the condition to hold, every clause must have a true atom. `not` is pushed inwards
 * (`not (a or b)` requires what `not a` and `not b` require); an `or` requires, of each operand,
 * its most selective clause, joined.
 */
export function necessaryClauses(n: ProgramNode, table: AtomTable, positive = true): Clause[] {
  switch (n.k) {
    case "atom":
      return positive && table.fieldOfAtom(n.id) >= 0 ? [[n.id]] : [];
    case "not":
      return necessaryClauses(n.operand, table, !positive);
    default: {
      const parts = n.operands.map((o) => necessaryClauses(o, table, positive));
      if ((n.k === "and") === positive) return parts.flat();
      // A disjunction: each operand must contribute a clause.
      if (parts.some((p) => p.length === 0)) return [];
      const joined = new Set<number>();
      for (const p of parts) for (const id of bestClause(p, table)!) joined.add(id);
      return [[...joined].sort((a, b) => a - b)];
    }
  }
}

/** Score of a clause as an index key (lower is more selective): the sum of its atoms'. */
export function clauseScore(c: Clause, table: AtomTable): number {
  let s = 0;
  for (const id of c) s += table.keyScore[id]!;
  return s;
}

export function bestClause(clauses: readonly Clause[], table: AtomTable): Clause | null {
  let best: Clause | null = null;
  let bestScore = Infinity;
  for (const c of clauses) {
    const s = clauseScore(c, table);
    if (best === null || s < bestScore) [best, bestScore] = [c, s];
  }
  return best;
}
