/**
 * A lifecycle machine compiled once into a table (state → event → guarded candidates) and run
 * with plain code. xstate's own transition() builds an actor per call and actor.send does
 * scheduling work; this keeps the same semantics for flat machines (first candidate whose
 * guard passes wins, its actions run in order, no target = stay) at table-lookup cost. The
 * guards and actions are the machine's own named plain functions (plain.ts).
 */
import type { AnyStateMachine } from 'xstate';
import type { PlainAction, PlainGuard, PlainImpl } from './plain.js';

/** One declared transition: the unit of coverage. `target` equals `source` for targetless ones. */
export interface TransitionInfo {
  /** Index in the global list of every machine's transitions (machines/index.ts). */
  readonly id: number;
  readonly machine: string;
  readonly source: string;
  readonly event: string;
  readonly guard: string | undefined;
  readonly actions: readonly string[];
  readonly target: string;
  readonly description: string;
}

/** A running instance: the state index and a context the compiled form mutates in place. */
export interface Instance<C> {
  state: number;
  ctx: C;
}

/** Anything that counts transitions taken (coverage.ts). */
export interface TransitionSink {
  record(id: number): void;
}

interface Candidate<C, E> {
  readonly guard: PlainGuard<C, E> | undefined;
  readonly actions: readonly PlainAction<C, E>[];
  readonly target: number;
  readonly id: number;
}

const nameOf = (x: unknown, what: string): string => {
  if (typeof x === 'string') return x;
  if (x !== null && typeof x === 'object' && typeof (x as { type?: unknown }).type === 'string') {
    return (x as { type: string }).type;
  }
  throw new Error(`compile: ${what} must be named (a string or {type}), got ${typeof x}`);
};

export class CompiledMachine<C extends object, E extends { readonly type: string }> {
  readonly id: string;
  readonly states: readonly string[];
  readonly initial: number;
  readonly transitions: readonly TransitionInfo[];
  private readonly table: readonly ReadonlyMap<string, readonly Candidate<C, E>[]>[];

  constructor(readonly machine: AnyStateMachine, private readonly impl: PlainImpl<C, E>, firstId: number) {
    this.id = machine.id;
    const nodes = Object.values(machine.root.states);
    this.states = nodes.map((n) => n.key);
    const index = new Map(this.states.map((s, i) => [s, i]));
    const infos: TransitionInfo[] = [];
    this.table = nodes.map((node) => {
      const row = new Map<string, Candidate<C, E>[]>();
      for (const [event, defs] of node.transitions) {
        const cands: Candidate<C, E>[] = [];
        for (const def of defs) {
          if (def.target !== undefined && def.target.length !== 1) throw new Error(`compile: ${this.id}.${node.key} ${event}: one target only`);
          const targetKey = def.target?.[0]?.key ?? node.key;
          const target = index.get(targetKey);
          if (target === undefined) throw new Error(`compile: ${this.id}: unknown target ${targetKey}`);
          const guardName = def.guard === undefined ? undefined : nameOf(def.guard, 'guard');
          const guard = guardName === undefined ? undefined : impl.guards[guardName];
          if (guardName !== undefined && guard === undefined) throw new Error(`compile: ${this.id}: no plain guard '${guardName}'`);
          const actionNames = def.actions.map((a) => nameOf(a, 'action'));
          const actions = actionNames.map((a) => {
            const f = impl.actions[a];
            if (f === undefined) throw new Error(`compile: ${this.id}: no plain action '${a}'`);
            return f;
          });
          const id = firstId + infos.length;
          infos.push({
            id, machine: this.id, source: node.key, event, guard: guardName, actions: actionNames,
            target: targetKey, description: def.description ?? '',
          });
          cands.push({ guard, actions, target, id });
        }
        row.set(event, cands);
      }
      return row;
    });
    this.transitions = infos;
    const initial = index.get(String(machine.root.initial?.target?.[0]?.key ?? ''));
    if (initial === undefined) throw new Error(`compile: ${this.id}: no initial state`);
    this.initial = initial;
  }

  /** The state's index; throws on a name the machine does not declare. */
  index(state: string): number {
    const i = this.states.indexOf(state);
    if (i < 0) throw new Error(`${this.id}: no state '${state}'`);
    return i;
  }

  create(): Instance<C> {
    return { state: this.initial, ctx: this.impl.initialContext() };
  }

  clone(inst: Instance<C>): Instance<C> {
    return { state: inst.state, ctx: { ...inst.ctx } };
  }

  /** Takes the first enabled transition for ev; returns its id, or -1 when none is enabled. */
  send(inst: Instance<C>, ev: E, sink: TransitionSink | undefined): number {
    const cands = this.table[inst.state]!.get(ev.type);
    if (cands === undefined) return -1;
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i]!;
      if (c.guard !== undefined && !c.guard(inst.ctx, ev)) continue;
      for (let k = 0; k < c.actions.length; k++) c.actions[k]!(inst.ctx, ev);
      inst.state = c.target;
      if (sink !== undefined) sink.record(c.id);
      return c.id;
    }
    return -1;
  }
}
