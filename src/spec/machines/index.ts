/**
 * The four lifecycle machines, their compiled tables, and the global transition list that
 * coverage counts against (ids are assigned in this order: mm, pasid, bond, domain).
 */
import type { AnyStateMachine } from 'xstate';
import { CompiledMachine } from './compile.js';
import type { TransitionInfo } from './compile.js';
import { bondImpl, bondMachine } from './bond.js';
import type { BondContext, BondEvent } from './bond.js';
import { domainImpl, domainMachine } from './domain.js';
import type { DomainContext, DomainEvent } from './domain.js';
import { mmImpl, mmMachine } from './mm.js';
import type { MmContext, MmEvent } from './mm.js';
import { pasidImpl, pasidMachine } from './pasid.js';
import type { PasidContext, PasidEvent } from './pasid.js';

export const mmTable = new CompiledMachine<MmContext, MmEvent>(mmMachine, mmImpl, 0);
export const pasidTable = new CompiledMachine<PasidContext, PasidEvent>(pasidMachine, pasidImpl, mmTable.transitions.length);
export const bondTable = new CompiledMachine<BondContext, BondEvent>(
  bondMachine, bondImpl, mmTable.transitions.length + pasidTable.transitions.length,
);
export const domainTable = new CompiledMachine<DomainContext, DomainEvent>(
  domainMachine, domainImpl,
  mmTable.transitions.length + pasidTable.transitions.length + bondTable.transitions.length,
);

export const MACHINES: readonly AnyStateMachine[] = [mmMachine, pasidMachine, bondMachine, domainMachine];

/** Every declared transition of every machine, indexed by id. */
export const ALL_TRANSITIONS: readonly TransitionInfo[] = [
  ...mmTable.transitions, ...pasidTable.transitions, ...bondTable.transitions, ...domainTable.transitions,
];

export { bondMachine, domainMachine, mmMachine, pasidMachine };
export { CompiledMachine } from './compile.js';
export type { Instance, TransitionInfo, TransitionSink } from './compile.js';
export type { MmContext, MmEvent, MmState } from './mm.js';
export type { PasidContext, PasidEvent, PasidState } from './pasid.js';
export type { BondContext, BondEvent, BondState } from './bond.js';
export type { DomainContext, DomainEvent, DomainState } from './domain.js';
