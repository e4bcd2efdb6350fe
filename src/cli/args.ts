/**
 * Command-line options of the offline tools, parsed with node:util's parseArgs: an unknown or malformed option ends
 * the tool with one line naming it (and where the options are), not a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseToolArgs<T extends ParseArgsConfig>(tool: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    if (!(error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw error;
    process.stderr.write(`${tool}: ${(error as Error).message} (run with --help for the options)\n`);
    process.exit(2);
  }
}
