import { Injectable } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { AgentResult, AgentService, AgentTaskError, StepRecord, TokenUsage } from '../../agent/agent.module';
import { DomainError, DomainErrorCode, isDomainError } from '../../common/domain-error';
import { AppConfig } from '../../config/config.module';
import { Computer, ScreenshotService, settleJson } from '../../computer/computer.module';
import { ComputerPool } from '../../pool/pool.module';
import { Session, SessionService } from '../../session/session.module';
import { errorText, toToolError } from '../mcp-errors';
import type { ToolContext } from '../tool-context';
import { trajectoryUri } from '../trajectory.resources';
import { describeShot, imageBlock, text } from './content';
import { Progress } from './progress';
import { MAX_MULTI_TASKS, modelField, sessionIdField, taskField } from './schemas';
import { CallScope, ToolRunner } from './tool-runner';

type Content = CallToolResult['content'];

function summarize(steps: readonly StepRecord[]): string {
  return steps
    .map((s) => {
      const still = s.settle?.hitCap ? ` [the screen was still changing ${s.settle.waitedMs} ms later]` : '';
      return `  ${s.step}. ${s.results.length ? s.results.join('; ') : (s.thought ?? 'looked at the screen')}${still}`;
    })
    .join('\n');
}

function usageOf(u: TokenUsage) {
  return { input_tokens: u.inputTokens, output_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens };
}

const usageSchema = z.object({ input_tokens: z.number(), output_tokens: z.number(), total_tokens: z.number() });
const taskResultSchema = z.object({
  answer: z.string().describe("The model's final answer."),
  model: z.string().describe('The model that did the task, as provider/model.'),
  steps: z
    .array(
      z.object({
        step: z.number(),
        thought: z.string().optional(),
        actions: z.array(z.record(z.string(), z.unknown())).describe('The actions the model asked for, in screenshot pixels.'),
        results: z.array(z.string()).describe('What became of each action (in screen pixels), or its error.'),
        settle: z
          .object({ waited_ms: z.number(), hit_cap: z.boolean(), changed: z.boolean().optional() })
          .optional()
          .describe("How the wait for the screen to settle after the step's actions ended, before the next screenshot: how long, whether the cap was hit, whether the screen changed."),
      }),
    )
    .describe('Every step of the task, in order.'),
  usage: usageSchema.describe('Tokens the task used, summed over its model calls.'),
  session_id: z.string(),
  computer_id: z.string(),
  trajectory: z.string().optional().describe('The MCP resource with the recorded trajectory (when the server keeps them).'),
});

const multiResultSchema = z.object({
  succeeded: z.number().describe('How many tasks finished.'),
  failed: z.number().describe('How many tasks failed.'),
  concurrent: z.boolean(),
  results: z
    .array(
      z.object({
        task: z.number().describe('1-based position of the task in the input.'),
        ok: z.boolean(),
        result: taskResultSchema.optional().describe('The task result (as run_cua_task returns it) when ok.'),
        error: z.string().optional().describe('Why the task failed, when not ok.'),
        steps_done: z.number().optional().describe('Steps the failed task got through before it stopped.'),
      }),
    )
    .describe('One entry per task, in input order.'),
});

/** A concurrent call that needs more computers than its principal may still take: refused before any task runs. */
function tooManyAtOnce(tasks: number, room: number, max: number) {
  return new DomainError(
    DomainErrorCode.SESSION_LIMIT,
    `concurrent=true runs each task on its own computer: these ${tasks} tasks need ${tasks - 1} computer(s) besides the session's, ` +
      `but you may take only ${room} more (MAX_COMPUTERS_PER_PRINCIPAL=${max}, counting your sessions' computers, the extra ones of your running calls and your calls waiting for one). ` +
      `Send at most ${room + 1} task(s) per concurrent call, use concurrent=false, or free computers with cleanup_session.`,
  );
}

interface Outcome {
  content: Content;
  isError: boolean;
  structured?: z.infer<typeof taskResultSchema>;
  /** For a failed task: the error text and how many steps it got through. */
  failure?: { error: string; stepsDone: number };
}

/** run_cua_task and run_multi_cua_tasks: hand tasks in plain words to the computer-use agent. */
@Injectable()
export class TaskTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly sessions: SessionService,
    private readonly agent: AgentService,
    private readonly screenshots: ScreenshotService,
    private readonly pool: ComputerPool,
    private readonly config: AppConfig,
  ) {}

  register(ctx: ToolContext) {
    ctx.server.registerTool(
      'run_cua_task',
      {
        title: 'Run a computer-use task',
        description:
          "Give a task in plain words (e.g. \"open the terminal and list the files in the home folder\"); a computer-use model works on your session's " +
          'computer, looking at the screen and acting, until it is done. Returns the final answer with a summary of the steps, the tokens used, and a ' +
          'final screenshot. Long tasks report progress when you send a progressToken; cancelling the request stops the task.',
        inputSchema: z.object({ task: taskField, session_id: sessionIdField, model: modelField }).strict(),
        outputSchema: taskResultSchema,
        annotations: { destructiveHint: true, openWorldHint: true },
      },
      (args, extra) =>
        this.runner.run('run_cua_task', ctx, extra, async (scope) => {
          const model = this.agent.resolveModel(args.model);
          const session = await scope.session(args.session_id);
          const progress = new Progress(extra, this.config.agent.maxSteps);
          const outcome = await this.runOne(scope, session, this.sessions.computerOf(session), args.task, model, progress);
          return { content: outcome.content, isError: outcome.isError || undefined, structuredContent: outcome.structured };
        }),
    );

    ctx.server.registerTool(
      'run_multi_cua_tasks',
      {
        title: 'Run several computer-use tasks',
        description:
          `Run up to ${MAX_MULTI_TASKS} tasks in plain words. concurrent=false (default): one after another on your session's computer. ` +
          "concurrent=true: each task on its own computer at the same time (the session's computer for the first, extra ones from the pool for the rest, " +
          'returned afterwards; they count against your share of computers, and a call that needs more than you may still take fails at once). ' +
          'Returns one text + screenshot pair per task, in input order; a failed task gives an error entry and the others still finish.',
        inputSchema: z
          .object({
            tasks: z.array(taskField).min(1, 'tasks must hold at least one task').max(MAX_MULTI_TASKS, `at most ${MAX_MULTI_TASKS} tasks per call`),
            concurrent: z.boolean().optional().default(false),
            session_id: sessionIdField,
            model: modelField,
          })
          .strict(),
        outputSchema: multiResultSchema,
        annotations: { destructiveHint: true, openWorldHint: true },
      },
      (args, extra) =>
        this.runner.run('run_multi_cua_tasks', ctx, extra, async (scope) => {
          const model = this.agent.resolveModel(args.model);
          const session = await scope.session(args.session_id);
          const n = args.tasks.length;
          // All or nothing: a call that cannot get its computers fails before any task runs (a race with
          // the principal's other calls can still fail single tasks below, with the same code).
          const room = this.pool.roomFor(ctx.principal);
          if (args.concurrent && n - 1 > room) throw tooManyAtOnce(n, room, this.config.pool.maxPerPrincipal);
          const progress = new Progress(extra, n);
          let finished = 0;
          const results: Outcome[] = [];
          const record = (i: number, r: Outcome) => {
            results[i] = r;
            finished++;
            progress.report(`${finished}/${n} tasks finished (task ${i + 1} ${r.isError ? 'failed' : 'done'})`, finished);
          };
          progress.report(`0/${n} tasks finished`, 0);
          // Tasks can run for minutes: a heartbeat between them keeps clients that reset their timeout on progress waiting.
          const started = Date.now();
          progress.heartbeat(this.config.agent.heartbeatMs, () => `${finished}/${n} tasks finished, working for ${Math.round((Date.now() - started) / 1000)} s`);
          try {
            if (!args.concurrent) {
              for (let i = 0; i < n; i++) {
                if (scope.signal.aborted) {
                  const refused = toToolError(scope.signal.reason);
                  record(i, { content: refused.content, isError: true, failure: { error: errorText(scope.signal.reason), stepsDone: 0 } });
                  continue;
                }
                record(i, await this.runOne(scope, session, this.sessions.computerOf(session), args.tasks[i], model, undefined, i + 1));
              }
            } else {
              await Promise.all(
                args.tasks.map(async (task, i) => {
                  if (i === 0) return record(i, await this.runOne(scope, session, this.sessions.computerOf(session), task, model, undefined, 1));
                  let lease;
                  try {
                    lease = await this.sessions.leaseExtra(session, scope.signal);
                  } catch (e) {
                    const error = `could not get a computer: ${errorText(e)}`;
                    return record(i, { content: [text(`Task ${i + 1} ${error}`)], isError: true, failure: { error, stepsDone: 0 } });
                  }
                  try {
                    record(i, await this.runOne(scope, session, lease.computer, task, model, undefined, i + 1));
                  } finally {
                    await this.sessions.releaseExtra(session, lease);
                  }
                }),
              );
            }
          } finally {
            progress.stop();
          }
          const failed = results.filter((r) => r.isError).length;
          const content: Content = [text(`${n - failed} of ${n} tasks succeeded${args.concurrent ? ' (run concurrently)' : ''}.`)];
          for (const r of results) content.push(...r.content);
          const structuredContent: z.infer<typeof multiResultSchema> = {
            succeeded: n - failed,
            failed,
            concurrent: args.concurrent,
            results: results.map((r, i) =>
              r.isError
                ? { task: i + 1, ok: false, error: r.failure?.error ?? 'failed', steps_done: r.failure?.stepsDone ?? 0 }
                : { task: i + 1, ok: true, result: r.structured },
            ),
          };
          return { content, isError: failed === n || undefined, structuredContent };
        }),
    );
  }

  /** Runs one task as a session task; returns a text + image pair (error entries keep the steps done). */
  private async runOne(scope: CallScope, session: Session, computer: Computer, task: string, model: string, progress?: Progress, index?: number): Promise<Outcome> {
    const label = index ? `Task ${index}` : 'Task';
    const started = Date.now();
    let steps = 0;
    const owner = { principal: scope.ctx.principal, sessionId: session.id };
    progress?.heartbeat(this.config.agent.heartbeatMs, () => `working: step ${steps} done, ${Math.round((Date.now() - started) / 1000)} s`);
    progress?.report('started', 0);
    try {
      const result: AgentResult = await this.sessions.runTask(session, task.slice(0, 80), scope.signal, (signal) =>
        this.agent.run(task, computer, {
          signal,
          modelName: model,
          owner,
          onStep: (s, maxSteps) => {
            steps = s.step;
            progress?.report(`step ${s.step}: ${s.results.join('; ') || s.thought || 'looked'}`, s.step);
            scope.log('info', {
              session: session.id,
              computer: computer.id,
              step: s.step,
              of: maxSteps,
              thought: s.thought,
              actions: s.actions,
              results: s.results,
              settle: s.settle ? settleJson(s.settle) : undefined,
              usage: s.usage ? usageOf(s.usage) : undefined,
            });
          },
          onRetry: (message) => {
            progress?.report(`step ${steps + 1}: ${message}`);
            scope.log('warning', { session: session.id, computer: computer.id, step: steps + 1, retry: message });
          },
        }),
      );
      const usage = usageOf(result.usage);
      const trajectory = result.trajectoryId ? trajectoryUri(session.id, result.trajectoryId) : undefined;
      const body =
        `${label} finished in ${result.steps.length} step(s) with ${result.model} on computer ${computer.id} (session ${session.id}).\n` +
        `Answer: ${result.answer}\nSteps:\n${summarize(result.steps)}\n` +
        `Usage: ${usage.input_tokens} input + ${usage.output_tokens} output tokens.\n` +
        (trajectory ? `Trajectory: ${trajectory}\n` : '') +
        `Final screenshot: ${describeShot(result.screenshot)}`;
      const structured = {
        answer: result.answer,
        model: result.model,
        steps: result.steps.map((s) => ({
          step: s.step,
          thought: s.thought,
          actions: s.actions as unknown as Record<string, unknown>[],
          results: s.results,
          ...(s.settle ? { settle: settleJson(s.settle) } : {}),
        })),
        usage,
        session_id: session.id,
        computer_id: computer.id,
        ...(trajectory ? { trajectory } : {}),
      };
      return { content: [text(body), imageBlock(result.screenshot)], isError: false, structured };
    } catch (e) {
      const progress = e instanceof AgentTaskError ? e : undefined;
      const done = progress?.steps;
      const used = progress?.usage;
      const error = errorText(e);
      let body = `${label} failed: ${error}`;
      if (done?.length) body += `\nSteps done before it stopped:\n${summarize(done)}`;
      if (used && used.inputTokens + used.outputTokens > 0) body += `\nUsage: ${used.inputTokens} input + ${used.outputTokens} output tokens.`;
      if (progress?.trajectoryId) body += `\nTrajectory: ${trajectoryUri(session.id, progress.trajectoryId)}`;
      const content: Content = [text(body)];
      // The screen as it was left helps the caller decide what to do; skip it when the computer is gone or we were cancelled.
      if (isDomainError(e, 'COMPUTER_FAILED') && session.lease?.computer === computer) await this.sessions.recoverComputer(session).catch(() => false);
      if (!scope.signal.aborted && !isDomainError(e, 'COMPUTER_FAILED')) {
        const shot = await this.screenshots.take(computer, 'png').catch(() => undefined);
        if (shot) content.push(imageBlock(shot));
      }
      return { content, isError: true, failure: { error, stepsDone: done?.length ?? 0 } };
    } finally {
      progress?.stop();
    }
  }
}
