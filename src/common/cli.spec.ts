import { parseFlags, UsageError } from './cli';

describe(parseFlags.name, () => {
  const USAGE = 'Usage: x [--port N] [--verbose]';
  const options = { port: { type: 'string' }, verbose: { type: 'boolean' } } as const;
  const parse = (...args: string[]) => parseFlags(args, options, USAGE);
  const problem = (...args: string[]) => {
    try {
      parse(...args);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error(`${args.join(' ')} was accepted`);
  };

  it('reads --name value, --name=value and boolean flags; the last of a repeated flag wins', () => {
    expect(parse('--port', '8000', '--verbose')).toEqual({ port: '8000', verbose: true });
    expect(parse('--port=1', '--port', '2')).toEqual({ port: '2' });
    expect(parse()).toEqual({});
  });

  it('names an unknown flag or a stray word, and ends with the usage', () => {
    expect(problem('--prot', '1')).toBe(`Unknown argument "--prot". ${USAGE}`);
    expect(problem('-p')).toBe(`Unknown argument "-p". ${USAGE}`);
    expect(problem('8000')).toBe(`Unexpected argument "8000". ${USAGE}`);
  });

  it('says when a flag lacks its value, or has one it does not take', () => {
    expect(problem('--port')).toBe(`--port needs a value. ${USAGE}`);
    expect(problem('--port', '--verbose')).toBe(`--port needs a value; the next word starts with "-" (write --port=VALUE if that is the value). ${USAGE}`);
    expect(problem('--verbose=yes')).toBe(`--verbose takes no value. ${USAGE}`);
  });
});
