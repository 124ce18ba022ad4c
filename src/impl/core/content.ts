/**
 * Population counters behind the content tokens of src/shared/layout.ts: one per (slot, page)
 * and one per kernel page, starting at 0 when the world is built and never reset, so a page
 * populated again (or a slot reused by a new process) gets a token nobody has seen before.
 */
import { IOVA_PAGES, MAX_HWPTS, MAX_KPAGES, MAX_PAGES, iovaToken, kernelToken, userToken } from '../../shared/index.js';

export class ContentCounters {
  private readonly user: Int32Array;
  private readonly kernel = new Int32Array(MAX_KPAGES);
  private readonly iova = new Int32Array(MAX_HWPTS * IOVA_PAGES);

  constructor(mms: number) {
    this.user = new Int32Array(mms * MAX_PAGES);
  }

  /** A page of `slot` is populated: bump its counter and return the new content token. */
  populateUser(slot: number, page: number): number {
    const i = slot * MAX_PAGES + page;
    const gen = this.user[i]! + 1;
    this.user[i] = gen;
    return userToken(slot, page, gen);
  }

  populateKernel(kpage: number): number {
    const gen = this.kernel[kpage]! + 1;
    this.kernel[kpage] = gen;
    return kernelToken(kpage, gen);
  }

  /** A kernel buffer is mapped at IOVA page `page` of `hwpt`. */
  populateIova(hwpt: number, page: number): number {
    const i = hwpt * IOVA_PAGES + page;
    const gen = this.iova[i]! + 1;
    this.iova[i] = gen;
    return iovaToken(hwpt, page, gen);
  }

  /** Current counter of (slot, page): how many times it has been populated. */
  userGen(slot: number, page: number): number {
    return this.user[slot * MAX_PAGES + page]!;
  }
}
