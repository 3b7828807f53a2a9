import { AcmeModule, AuditTrail } from '../examples/custom-providers/acme.module';
import sharp from 'sharp';
import { call, fakeScreenText, imagesOf, startApp, TestApp, textOf } from './support/app';

describe('Extending with Nest modules (examples/custom-providers)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('a module imported through AppModule.forRoot adds a computer provider and a model provider that the tools use', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'acme-notepad', CUA_MODEL_NAME: 'acme/shout', ACME_LICENCE_KEY: 'licence-0123456789' }, [AcmeModule]);
    const client = await t.connect();
    const r = await call(client, 'run_cua_task', { task: 'hello acme' });
    expect(textOf(r)).toMatch(/Answer: shouted 10 characters/);
    expect(textOf(r)).toMatch(/with acme\/shout on computer acme-1/);
    expect(await fakeScreenText(r)).toBe('HELLO ACME');
    await call(client, 'cleanup_session', { session_id: /session (\S+)\)/.exec(textOf(r))![1] });
    expect(t.app.get(AuditTrail).events.map((e) => e.split(' ').slice(1).join(' '))).toEqual(['created acme-1', 'closed acme-1']);
  });

  it('a provider module declares settings of its own: read by its provider, validated at boot with the server\'s, secrets hidden', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'acme-notepad', CUA_MODEL_NAME: 'acme/shout', ACME_LICENCE_KEY: 'licence-0123456789', ACME_COMPUTER_PREFIX: 'pad', ACME_SCREEN_WIDTH: '1024' }, [AcmeModule]);
    const r = await call(await t.connect(), 'run_cua_task', { task: 'hi' });
    expect(textOf(r)).toMatch(/on computer pad-1/);
    expect(imagesOf(r)[0]).toBeDefined();
    const { width, height } = await sharp(Buffer.from(imagesOf(r)[0].data, 'base64')).metadata();
    expect({ width, height }).toEqual({ width: 1024, height: 768 });
    await t.close();

    // One error names the module's bad keys beside the server's own, and never shows the secret.
    let err: Error | undefined;
    await startApp({ COMPUTER_PROVIDER: 'acme-notepad', ACME_COMPUTER_PREFIX: 'Bad Prefix', ACME_SCREEN_WIDTH: '9', ACME_LICENCE_KEY: 'short-key', POOL_MAX_SIZE: 'many' }, [AcmeModule]).catch((e: Error) => (err = e));
    expect(err?.message).toMatch(/ACME_COMPUTER_PREFIX="Bad Prefix": must be lower-case letters, digits and - \(at most 32\), starting with a letter/);
    expect(err?.message).toMatch(/ACME_SCREEN_WIDTH="9": must be a whole number from 320 to 3840/);
    expect(err?.message).toMatch(/ACME_LICENCE_KEY=\(secret\): must be at least 12 characters/);
    expect(err?.message).toMatch(/POOL_MAX_SIZE="many": must be a whole number/);
    expect(err?.message).not.toMatch(/short-key/);
    await expect(startApp({ COMPUTER_PROVIDER: 'acme-notepad' }, [AcmeModule])).rejects.toThrow(/ACME_LICENCE_KEY \(unset\): is required with COMPUTER_PROVIDER=acme-notepad/);
  });

  it('a module can bring its own desktop profile for real desktops', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'acme-notes' }, [AcmeModule]);
    const client = await t.connect();
    // Its editor is open on its notes file, from inside the desktop.
    const r = await call(client, 'run_command', { command: 'cat ~/notes.txt; xdotool search --onlyvisible --class Mousepad getwindowname %@' });
    expect((r.structuredContent as { stdout: string }).stdout).toMatch(/^ACME meeting notes\n.*notes\.txt.*Mousepad/s);
  }, 60_000);

  it('an unknown DESKTOP_PROFILE stops the boot with a message naming the known ones', async () => {
    await expect(startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'nope' }, [AcmeModule])).rejects.toThrow(/DESKTOP_PROFILE=nope is not a registered desktop profile. Known: acme-notes, minimal, standard\./);
  });

  it('an unknown COMPUTER_PROVIDER or model provider stops the boot with a message naming the known ones', async () => {
    await expect(startApp({ COMPUTER_PROVIDER: 'nope' })).rejects.toThrow(/COMPUTER_PROVIDER=nope is not a registered computer provider. Known: cua, fake, kubernetes, xvfb\./);
    const err = (await startApp({ CUA_MODEL_NAME: 'nope/model' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^CUA_MODEL_NAME=nope\/model: the part before the slash names no registered model provider\. Write provider\/model with one of: anthropic\/<model> \(needs ANTHROPIC_API_KEY\).*; openai\/<model> .*; openai-compatible\/<model> .*; scripted\/<name> [^;]*\.$/,
    );
    // The bad value is named once, and never offered back as an example.
    expect(err.message.match(/nope/g)).toHaveLength(1);
  });
});
