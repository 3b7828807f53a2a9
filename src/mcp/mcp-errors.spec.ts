import type { CallToolResult } from '@modelcontextprotocol/server';
import { AgentTaskError } from '../agent/agent.module';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { ComputerLimitError, PoolExhaustedError, PoolQueueFullError } from '../pool/pool.module';
import { SessionLimitError, SessionUnderHumanControlError } from '../session/session.module';
import { ConcurrentTasksLimitError, TaskFailedError } from '../task/task.module';
import { codeOf, taskFailureContent, taskFailureSummary, toToolError } from './mcp-errors';

const textOf = (content: CallToolResult['content']) =>
  content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
const count = (text: string, word: RegExp) => text.match(word)?.length ?? 0;

describe('MCP error mapping', () => {
  it.each([
    ['POOL_EXHAUSTED', new PoolExhaustedError(500, 2)],
    ['POOL_QUEUE_FULL', new PoolQueueFullError(10)],
    ['SESSION_LIMIT (server)', new SessionLimitError('server', 5, 60_000)],
    ['SESSION_LIMIT (principal)', new SessionLimitError('principal', 2, 60_000)],
    ['SESSION_LIMIT (computers)', new ComputerLimitError(3)],
    ['SESSION_LIMIT (concurrent tasks)', new ConcurrentTasksLimitError(4, 1, 2)],
  ])('%s says what to do once: cleanup_session and "retry later" at most once each', (_name, e) => {
    const result = toToolError(e);
    const text = textOf(result.content);
    expect(result.isError).toBe(true);
    expect(text.startsWith(`[${e.code}] ${e.message}`)).toBe(true);
    expect(count(text, /cleanup_session/g)).toBe(1);
    expect(count(text, /retry later/gi)).toBeLessThanOrEqual(1);
  });

  it('adds the advice of the code to an error whose message does not say what to do', () => {
    const text = textOf(toToolError(new DomainError(DomainErrorCode.COMPUTER_FAILED, 'The desktop went away.')).content);
    expect(text).toBe('[COMPUTER_FAILED] The desktop went away. The next call gets a fresh computer; retry.');
  });

  it('SESSION_UNDER_HUMAN_CONTROL says who holds control, that the call was refused and not queued, how control comes back, and that screenshots work', () => {
    const text = textOf(toToolError(new SessionUnderHumanControlError('work', 'alice (live view)', 'the computer action "type"', 120_000)).content);
    expect(text).toBe(
      '[SESSION_UNDER_HUMAN_CONTROL] A person (alice (live view)) is controlling the desktop of session "work" in the live view, so the computer action "type" was refused. ' +
        'Control returns on its own after 120 s without their input. The call was refused, not queued. Wait until control is handed back ' +
        "(the live view's button, or the release_control tool), then call again; screenshots (screenshot_cua, or computer with action screenshot) still work meanwhile.",
    );
  });

  it('an unexpected error is INTERNAL, with its message and no advice', () => {
    expect(codeOf(new TypeError('x is undefined'))).toBe('INTERNAL');
    expect(textOf(toToolError(new TypeError('x is undefined')).content)).toBe('[INTERNAL] x is undefined');
  });

  describe('a failed task', () => {
    const shot = { data: Buffer.from('png'), mimeType: 'image/png' as const, width: 4, height: 3, screenWidth: 4, screenHeight: 3, scale: 1 };
    const step = { step: 1, actions: [], results: ['clicked (2, 2)'], outcomes: [] };
    const ran = new TaskFailedError(
      new AgentTaskError(new DomainError(DomainErrorCode.MODEL_ERROR, 'The model failed: no.'), 'The model failed: no.', [step], { inputTokens: 7, outputTokens: 3 }, 'tj1', undefined),
      'ran',
      'ses 1',
      shot,
    );

    it('that ran: its error, the steps done, the tokens, its trajectory and the screen as it was left', () => {
      const content = taskFailureContent(ran, 'Task 2');
      expect(textOf(content)).toBe(
        'Task 2 failed: [MODEL_ERROR] The model failed: no.\nSteps done before it stopped:\n  1. clicked (2, 2)\nUsage: 7 input + 3 output tokens.\nTrajectory: trajectory://ses%201/tj1',
      );
      expect(content[1]).toEqual({ type: 'image', data: Buffer.from('png').toString('base64'), mimeType: 'image/png' });
      expect(taskFailureSummary(ran)).toEqual({ error: '[MODEL_ERROR] The model failed: no.', stepsDone: 1 });
    });

    it('thrown from run_cua_task: the same content as an isError result, counted under its code', () => {
      expect(toToolError(ran)).toEqual({ isError: true, content: taskFailureContent(ran, 'Task') });
      expect(codeOf(ran)).toBe('MODEL_ERROR');
    });

    it('that could not get a computer, or never started', () => {
      const noComputer = TaskFailedError.of(new PoolExhaustedError(100, 2), 'no-computer', 's');
      expect(textOf(taskFailureContent(noComputer, 'Task 3'))).toMatch(/^Task 3 could not get a computer: \[POOL_EXHAUSTED\] No computer became free within 100 ms/);
      expect(taskFailureSummary(noComputer)).toEqual({ error: expect.stringMatching(/^could not get a computer: \[POOL_EXHAUSTED\]/), stepsDone: 0 });
      const cancelled = new DomainError(DomainErrorCode.CANCELLED, 'The task was cancelled.');
      const notStarted = TaskFailedError.of(cancelled, 'not-started', 's');
      expect(taskFailureContent(notStarted, 'Task 4')).toEqual(toToolError(cancelled).content);
    });
  });
});
