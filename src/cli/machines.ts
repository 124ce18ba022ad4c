/** One spec lifecycle machine drawn as a Mermaid state diagram. */
export interface MachineDiagram {
  readonly name: string;
  readonly mermaid: string;
}

/**
 * The spec's machines (src/spec: MACHINES, toMermaid), loaded only when `machines` runs, so a
 * spec that is still being written cannot break `show`, `selfcheck` or the help.
 */
export const specMachineDiagrams = async (): Promise<readonly MachineDiagram[]> => {
  const { MACHINES, toMermaid } = await import('../spec/index.js');
  return MACHINES.map((m) => ({ name: m.id, mermaid: toMermaid(m) }));
};
