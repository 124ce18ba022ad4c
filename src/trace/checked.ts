/**
 * The outcome of handling untrusted input (a trace file, a command line): a value, or one
 * line saying what is wrong and where. Input problems are values, never exceptions, so a bad
 * file can only ever produce that one line and exit code 2.
 */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export const good = <T>(value: T): Checked<T> => ({ ok: true, value });
export const bad = <T = never>(error: string): Checked<T> => ({ ok: false, error: oneLine(error) });

/** Control characters (a newline in a file name, a hostile string) must not split the line. */
export const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ');

/**
 * A message the harness writes on several lines (a non-linearizable history lists every order
 * it tried): one printable line per line of it, each made safe as oneLine makes it.
 */
export const messageLines = (s: string): string[] => s.split('\n').map(oneLine);
