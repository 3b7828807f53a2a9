import { parseArgs, ParseArgsConfig } from 'node:util';

/** A command line that cannot be used: the entry prints the message (it ends with the usage) and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Flags = NonNullable<ParseArgsConfig['options']>;
type FlagValues<O extends Flags> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * Reads `--name value`, `--name=value` and boolean `--name` flags with node:util parseArgs
 * (strict, no positional arguments). A flag it does not know, a flag without its value and a
 * stray word are a UsageError that names it and ends with `usage`.
 */
export function parseFlags<O extends Flags>(args: readonly string[], options: O, usage: string): FlagValues<O> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw e;
    const message = (e as Error).message;
    const word = /'([^' ]+)/.exec(message)?.[1] ?? '';
    const what =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `Unknown argument "${word}".`
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `Unexpected argument "${word}".`
          : message.includes('does not take an argument')
            ? `${word} takes no value.`
            : message.includes('ambiguous')
              ? `${word} needs a value; the next word starts with "-" (write ${word}=VALUE if that is the value).`
              : message.includes('argument missing')
                ? `${word} needs a value.`
                : `${message.split('\n')[0]}.`;
    throw new UsageError(`${what} ${usage}`);
  }
}
