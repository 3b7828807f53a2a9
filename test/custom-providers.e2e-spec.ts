import { AcmeModule, AuditTrail } from '../examples/custom-providers/acme.module';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';

describe('Extending with Nest modules (examples/custom-providers)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('a module imported through AppModule.forRoot adds a computer provider and a model provider that the tools use', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'acme-notepad', CUA_MODEL_NAME: 'acme/shout' }, [AcmeModule]);
    const client = await t.connect();
    const r = await call(client, 'run_cua_task', { task: 'hello acme' });
    expect(textOf(r)).toMatch(/Answer: shouted 10 characters/);
    expect(textOf(r)).toMatch(/with acme\/shout on computer acme-1/);
    expect(await fakeScreenText(r)).toBe('HELLO ACME');
    await call(client, 'cleanup_session', { session_id: /session (\S+)\)/.exec(textOf(r))![1] });
    expect(t.app.get(AuditTrail).events.map((e) => e.split(' ').slice(1).join(' '))).toEqual(['created acme-1', 'closed acme-1']);
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
