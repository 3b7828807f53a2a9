import { redact } from '../agent/agent.module';
import { digestArgs } from './audit-args';

const SECRET = 'configured-secret-value-1234';
const options = (textChars = 200) => ({ redact: (text: string) => redact(text, [SECRET]), textChars });

describe('audit argument digests', () => {
  it('keeps of typed text only its length, and keeps key names and click modifiers', () => {
    expect(digestArgs('computer', { action: 'type', text: 'correct horse battery staple', session_id: 'desk' }, options())).toEqual({ action: 'type', text: '[typed text, 28 characters]' });
    expect(digestArgs('computer', { action: 'key', text: 'ctrl+s', repeat: 2 }, options())).toEqual({ action: 'key', text: 'ctrl+s', repeat: 2 });
    expect(digestArgs('computer', { action: 'left_click', coordinate: [10, 20], text: 'shift' }, options())).toEqual({ action: 'left_click', coordinate: [10, 20], text: 'shift' });
  });

  it('redacts credentials by argument name, by shape, and the configured secrets, wherever they are', () => {
    expect(digestArgs('live_view_control', { token: 'abc', action: 'take' }, options())).toEqual({ token: '[redacted]', action: 'take' });
    const command = `curl -H "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl" -d password=hunter2 ${SECRET}`;
    const digest = JSON.stringify(digestArgs('run_command', { command, nested: { api_key: 'x', list: [{ password: 'y' }] } }, options()));
    for (const leaked of ['eyJhbGciOiJSUzI1NiJ9', 'hunter2', SECRET, '"x"', '"y"']) expect(digest).not.toContain(leaked);
    expect(digest).toContain('curl -H');
  });

  it('cuts free text (tasks, commands) to AUDIT_TEXT_CHARS, 0 keeping only the length; other strings to 256 characters', () => {
    expect(digestArgs('run_cua_task', { task: 'a'.repeat(30) }, options(10))).toEqual({ task: 'aaaaaaaaaa… (20 characters more)' });
    expect(digestArgs('run_multi_cua_tasks', { tasks: ['one', 'two three'], concurrent: true }, options(0))).toEqual({ tasks: ['[3 characters]', '[9 characters]'], concurrent: true });
    expect(digestArgs('run_command', { command: 'ls', timeout_ms: 500 }, options(0))).toEqual({ command: '[2 characters]', timeout_ms: 500 });
    expect((digestArgs('create_session', { odd: 'z'.repeat(1000) }, options()).odd as string).length).toBeLessThan(300);
  });
});
