// Every built-in feature's settings are declared (by importing the app), as in the server: the redactor knows every secret.
import '../app.module';
import { SecretRedactor } from '../agent/agent.module';
import { Settings } from '../config/config.module';
import { agentLine, MAX_STRING, toolLine } from './action-log';

const KEY = 'sk-ant-api03-Zq8vR2mKx7LpT4wN9cYb6HdF3jUe5sGa1oQi0kVh';
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

describe('action log lines', () => {
  const redactor = new SecretRedactor(Settings.load({ ANTHROPIC_API_KEY: KEY }));
  const redact = (t: string) => redactor.redact(t);

  it('writes a computer call as its action and arguments, without the session id, with secrets redacted and long text cut', () => {
    const sut = toolLine(
      { principal: 'alice', sessionId: 'desk', tool: 'computer', args: { action: 'type', text: `my key is ${KEY}`, session_id: 'desk', screenshot: false }, outcome: 'ok', startedAt: T0, durationMs: 12.4 },
      redact,
    );
    expect(sut).toEqual({ time: '2026-12-01T10:00:00.000Z', session: 'desk', source: 'tool', name: 'computer', action: 'type', args: { text: 'my key is [redacted]', screenshot: false }, outcome: 'ok', duration_ms: 12 });

    const long = toolLine({ principal: 'alice', sessionId: 'desk', tool: 'run_command', args: { command: 'x'.repeat(MAX_STRING + 5) }, outcome: 'TIMEOUT', startedAt: T0, durationMs: 1 }, redact);
    expect(long).toMatchObject({ name: 'run_command', outcome: 'TIMEOUT', args: { command: `${'x'.repeat(MAX_STRING)}… (5 more characters)` } });
    expect(long).not.toHaveProperty('action');
    // Credentials a client typed into a command go too, configured or not.
    const header = toolLine({ principal: 'alice', sessionId: 'desk', tool: 'run_command', args: { command: 'curl -H "Authorization: Bearer abc123xyz789secret" http://x' }, outcome: 'ok', startedAt: T0, durationMs: 1 }, redact);
    expect(header.args!.command).toBe('curl -H "Authorization: Bearer [redacted]" http://x');
  });

  it('writes an agent step with each action and what became of it; the step failed when an action did; images stay out', () => {
    const sut = agentLine(
      {
        sessionId: 'desk',
        task: 1,
        computerId: 'xvfb-1',
        startedAt: T0,
        durationMs: 800,
        step: {
          step: 3,
          thought: `I will paste ${KEY}`,
          actions: [{ action: 'zoom', region: [0, 0, 10, 10] }, { action: 'left_click', coordinate: [5000, 1] }, { action: 'type', text: 'x' }],
          results: [],
          outcomes: [
            { status: 'ok', text: 'zoomed', image: { data: Buffer.from('png'), mimeType: 'image/png', width: 1, height: 1, screenWidth: 1, screenHeight: 1, scale: 1 } },
            { status: 'error', text: 'Coordinate (5000, 1) is outside the screenshot' },
            { status: 'skipped', text: 'Not executed' },
          ],
        },
      },
      redact,
    );
    expect(sut).toEqual({
      time: '2026-12-01T10:00:00.000Z',
      session: 'desk',
      source: 'agent',
      name: 'step',
      step: 3,
      task: 1,
      computer: 'xvfb-1',
      thought: 'I will paste [redacted]',
      actions: [
        { action: 'zoom', args: { region: [0, 0, 10, 10] }, outcome: 'ok', result: 'zoomed' },
        { action: 'left_click', args: { coordinate: [5000, 1] }, outcome: 'error', result: 'Coordinate (5000, 1) is outside the screenshot' },
        { action: 'type', args: { text: 'x' }, outcome: 'skipped', result: 'Not executed' },
      ],
      outcome: 'error',
      duration_ms: 800,
    });
  });
});
