/**
 * A lifecycle machine's guards and actions as plain functions over a mutable context. The
 * xstate machine is built from them (so its named guards and actions are these very functions)
 * and the compiled table (compile.ts) calls them directly on the hot path; the equivalence test
 * drives both through the same events.
 */
import { assign } from 'xstate';
import type { EventObject, MachineContext } from 'xstate';

export type PlainGuard<C, E> = (ctx: Readonly<C>, ev: E) => boolean;
/** Mutates ctx in place: the compiled form owns its context; xstate gets a copy (xAssign). */
export type PlainAction<C, E> = (ctx: C, ev: E) => void;

export interface PlainImpl<C, E> {
  readonly initialContext: () => C;
  readonly guards: Readonly<Record<string, PlainGuard<C, E>>>;
  readonly actions: Readonly<Record<string, PlainAction<C, E>>>;
}

/** The xstate form of a plain guard. */
export const xGuard =
  <C, E>(g: PlainGuard<C, E>) =>
  ({ context, event }: { context: C; event: E }): boolean =>
    g(context, event);

/** The xstate form of a plain action: an `assign` that applies it to a copy of the context. */
export const xAssign = <C extends MachineContext, E extends EventObject>(a: PlainAction<C, E>) =>
  assign<C, E, undefined, E, never>(({ context, event }) => {
    const next = { ...context };
    a(next, event);
    return next;
  });
