/**
 * The spec step: mutates the state and returns the observation the kernel must produce.
 * Callers check `precondition` first; the step assumes it.
 */
import type { Command, Observation } from '../shared/index.js';
import { bind, unbind } from './bind.js';
import { exit, fork, mmap, mprotect, munmap, touch, vfree, vmalloc } from './addressSpace.js';
import { dma } from './dma.js';
import { dmaPasid } from './dmaPasid.js';
import { gracePeriod, mmdrop, newIncarnation } from './lifetime.js';
import { OK_OBS } from './observe.js';
import { prg, serviceFaults } from './pri.js';
import { stopMarker } from './stopMarker.js';
import { unplug } from './hotplug.js';
import { attachPasid, destroyHwpt, detachPasid, dmaIova, guestMap, guestUnmap, iommuMap, iommuUnmap, replacePasid } from './paging.js';
import type { SpecState } from './state.js';

/**
 * One command. An injected failure the command's kernel path cannot make (the checked step
 * sets `s.injected` from the kernel's report) turns the expectation into a failure naming it.
 */
export const specStep = (s: SpecState, cmd: Command): Observation => {
  if (cmd.kind === 'failNth') {
    s.failNth = cmd.n;
    return OK_OBS;
  }
  const obs = step(s, cmd);
  s.failNth = 0;
  if (s.injected === undefined) return obs;
  const site = s.injected;
  s.injected = undefined;
  s.injectSkip = 0;
  return { ok: false, errno: 'EFAULT', fault: `spec: ${cmd.kind} makes no call at ${site} here` };
};

const step = (s: SpecState, cmd: Command): Observation => {
  // A plain switch with a `never` default instead of ts-pattern: this is the measured hot path
  // (scripts/bench-spec.ts: ts-pattern's builder allocates per call and cost several times more).
  switch (cmd.kind) {
    case 'bind':
      s.retired.length = 0; // a failed attach's unwind may drain page requests
      return bind(s, cmd.dev, cmd.mm);
    case 'unbind':
      s.retired.length = 0;
      unbind(s, cmd.dev, cmd.mm);
      return OK_OBS;
    case 'mmap':
      mmap(s.slots[cmd.mm]!, cmd.first, cmd.count, cmd.prot);
      return OK_OBS;
    case 'touch':
      return touch(s.slots[cmd.mm]!, cmd.mm, cmd.page, cmd.write);
    case 'munmap':
      munmap(s.slots[cmd.mm]!, cmd.first, cmd.count);
      return OK_OBS;
    case 'mprotect':
      mprotect(s.slots[cmd.mm]!, cmd.page, cmd.prot);
      return OK_OBS;
    case 'dma':
      s.retired.length = 0; // an overflowing PRQ answers a dropped request at once
      return dma(s, cmd.dev, cmd.mm, cmd.page, cmd.write);
    case 'prg':
      return prg(s, cmd.dev, cmd.mm, cmd.page, cmd.count, cmd.write, cmd.rid, cmd.last);
    case 'prefetch':
    case 'prefetchKernel':
      // The hardware adversary changes no abstract state: caches may hold only what is walkable.
      return OK_OBS;
    case 'unplug':
      unplug(s, cmd.dev);
      return OK_OBS;
    case 'exit':
      exit(s, cmd.mm);
      return OK_OBS;
    case 'mmdrop':
      mmdrop(s, cmd.mm);
      return OK_OBS;
    case 'fork':
      fork(s, cmd.mm, cmd.child);
      return { ok: true, value: cmd.child };
    case 'spawn':
      newIncarnation(s, cmd.mm, 'spawn');
      return OK_OBS;
    case 'gracePeriod':
      gracePeriod(s);
      return OK_OBS;
    case 'vmalloc':
      vmalloc(s, cmd.kpage);
      return OK_OBS;
    case 'vfree':
      vfree(s, cmd.kpage);
      return OK_OBS;
    case 'failNext':
      s.failArmed = cmd.site;
      return OK_OBS;
    case 'failNth':
      throw new Error('specStep: failNth is stepped above');
    case 'serviceFaults':
      return serviceFaults(s);
    case 'attachPasid':
      s.retired.length = 0;
      return attachPasid(s, cmd.dev, cmd.hwpt, cmd.pasid);
    case 'detachPasid':
      return detachPasid(s, cmd.dev, cmd.hwpt);
    case 'replacePasid':
      return replacePasid(s, cmd.dev, cmd.hwpt, cmd.from);
    case 'iommuMap':
      return iommuMap(s, cmd.hwpt, cmd.page, cmd.write);
    case 'iommuUnmap':
      return iommuUnmap(s, cmd.hwpt, cmd.page);
    case 'destroyHwpt':
      return destroyHwpt(s, cmd.hwpt);
    case 'guestMap':
      return guestMap(s, cmd.page, cmd.gpa, cmd.write);
    case 'guestUnmap':
      return guestUnmap(s, cmd.page);
    case 'dmaIova':
      return dmaIova(s, cmd.dev, cmd.hwpt, cmd.page, cmd.write);
    case 'dmaPasid':
      return dmaPasid(s, cmd.dev, cmd.pasid, cmd.page, cmd.write);
    case 'migrate':
      // Same content, same permissions: the abstract state does not change.
      return OK_OBS;
    case 'stopMarker':
      return stopMarker(s, cmd.dev, cmd.mm);
    default: {
      const never: never = cmd;
      throw new Error(`specStep: unknown command ${JSON.stringify(never)}`);
    }
  }
};
