#!/usr/bin/env node
// Runs the TypeScript CLI from source through tsx: `npx sva-harness <command>` works from a
// fresh clone with no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
// The entry point wires the random-search runner into the CLI (the harness owns the contract).
// Its URL too: `run` loads it again in each search thread it supervises.
const runnerModule = new URL('../models/index.ts', import.meta.url).href;
const { harnessRunner } = await import(runnerModule);
// ...and the exhaustive explorer (src/explore), the same way.
const { harnessExplorer } = await import(new URL('../src/explore/index.ts', import.meta.url).href);
await runCli({ runner: harnessRunner, explorer: harnessExplorer, runnerModule });
