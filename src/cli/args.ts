import { type Checked, bad, good } from '../trace/index.js';

/** One `--name [value]` option of a subcommand. */
export interface OptionDef {
  readonly name: string;
  /** Placeholder of the value in help (`N`, `SEED`); absent for a flag. */
  readonly value?: string;
  readonly help: string;
}

export interface ParsedArgs {
  /** Option name → its value (`true` for a flag); each option appears at most once. */
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/** `--help` or `-h` anywhere before `--`: help wins over every other problem. */
export const wantsHelp = (argv: readonly string[]): boolean => {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
};

/**
 * A strict parser: unknown options, a missing value, a value given to a flag, a repeated
 * option and extra positionals are all errors. `--name value` and `--name=value` both work;
 * a value may start with `-` (a negative seed) but not with `--`. `--` ends the options.
 */
export const parseArgs = (
  argv: readonly string[],
  defs: readonly OptionDef[],
  positionals: readonly string[],
): Checked<ParsedArgs> => {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const options = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      rest.push(a);
      continue;
    }
    if (!a.startsWith('--')) return bad(`unknown option '${a}'`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const def = byName.get(name);
    if (def === undefined) return bad(`unknown option '--${name}'`);
    if (options.has(name)) return bad(`option --${name} given twice`);
    if (def.value === undefined) {
      if (eq >= 0) return bad(`option --${name} takes no value`);
      options.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      }
    }
    if (value === undefined || value === '') return bad(`option --${name} needs a value (${def.value})`);
    options.set(name, value);
  }
  if (rest.length < positionals.length) return bad(`missing ${positionals[rest.length]} argument`);
  if (rest.length > positionals.length) return bad(`unexpected argument '${rest[positionals.length]}'`);
  return good({ options, positionals: rest });
};

/** Help text of a subcommand's options, aligned. */
export const formatOptions = (defs: readonly OptionDef[]): string[] => {
  const heads = defs.map((d) => `--${d.name}${d.value === undefined ? '' : ` ${d.value}`}`);
  const width = Math.max(...heads.map((h) => h.length), 0);
  return defs.map((d, i) => `  ${heads[i]!.padEnd(width)}  ${d.help}`);
};
