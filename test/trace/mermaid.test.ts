import { describe, expect, test } from 'vitest';
import { escapeMermaid, traceToMermaid } from '../../src/trace/index.js';
import { sampleTrace } from './sampleTrace.js';

describe('Mermaid sequence diagram', () => {
  test('Commands go from their issuer, calls between lanes are arrows, state is a note, the violation is shaded', () => {
    // The process calls its mm (a self-arrow) or the SVA core; a DMA goes from the device to
    // the IOMMU; the driver's queue submissions are arrows driver → queue.
    expect(traceToMermaid(sampleTrace())).toBe(`\
sequenceDiagram
  participant cpu as CPU / mm
  participant core as SVA core
  participant driver as IOMMU driver
  participant queue as invalidation queue
  participant cache as IOMMU caches
  participant device as device
  cpu->>cpu: [0] mmap(mm0,p0..p1,rw)
  cpu->>core: [1] bind(d0,mm0)
  Note over core: sva: iommu_alloc_mm_data pasid 1
  driver->>queue: vtd0: pc_inv did 1 pasid 1
  core-->>cpu: pasid 1
  cpu->>cpu: [2] touch(mm0,p1,w)
  device->>cache: [3] dma(d0,mm0,p1,r)
  cache-->>device: mm0.p1#35;1
  cpu->>core: [4] unbind(d0,mm0)
  Note over driver: intel-svm: remove_dev_pasid #60;skipped#62;
  core-->>cpu: ok
  rect rgb(255, 228, 228)
    device->>cache: [5] dma(d0,mm0,p1,w)
    Note over cache: dev0: atc hit pasid 1#59; vpn 40001
    cache-->>device: mm0.p1#35;1 MISMATCH, expected EFAULT
    Note over cpu,device: VIOLATION SVA001 no stale translation after unbind: dev0 reached mm0.p1#35;1 through PASID 1 after unbind [dev=0 mm=0 pasid=1]
  end
`);
  });

  test('Text that could end a statement, open HTML or start a directive is escaped', () => {
    expect(escapeMermaid('a;b#c\nd<e>f')).toBe('a#59;b#35;c#10;d#60;e#62;f');
    expect(escapeMermaid('x --> y')).toBe('x --#62; y');
    expect(escapeMermaid('wrap: text')).toBe('#119;rap: text');
    expect(escapeMermaid('  ')).toBe('#32;');
    expect(escapeMermaid('✗')).toBe('#10007;');
    for (const s of ['%%{init}%%', 'a"b`c&d', 'x;y\r\n#z']) {
      expect(escapeMermaid(s).replace(/#\d+;/g, '')).not.toMatch(/[#;\r\n<>"`&%{}]/);
    }
  });
});
