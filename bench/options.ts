/** Command-line options of the bench's scripts, through Node's own parser (`util.parseArgs`). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The options given, as `util.parseArgs` reads them; an unknown or malformed option ends the
 * process with exit code 2 and a one-line message naming it, instead of a stack trace.
 */
export function benchOptions<T extends NonNullable<ParseArgsConfig['options']>>(script: string, options: T) {
  try {
    return parseArgs({ options, strict: true }).values;
  } catch (err) {
    process.stderr.write(`${script}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
