import { Injectable } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { AgentResult, AgentService, StepRecord } from '../../agent/agent.module';
import { isDomainError } from '../../common/domain-error';
import { AppConfig } from '../../config/config.module';
import { Computer, ScreenshotService } from '../../computer/computer.module';
import { Session, SessionService } from '../../session/session.module';
import { errorText, toToolError } from '../mcp-errors';
import type { ToolContext } from '../tool-context';
import { describeShot, imageBlock, text } from './content';
import { Progress } from './progress';
import { MAX_MULTI_TASKS, sessionIdField, taskField } from './schemas';
import { CallScope, ToolRunner } from './tool-runner';

type Content = CallToolResult['content'];

function summarize(steps: readonly StepRecord[]): string {
  return steps.map((s) => `  ${s.step}. ${s.results.length ? s.results.join('; ') : (s.thought ?? 'looked at the screen')}`).join('\n');
}

/** run_cua_task and run_multi_cua_tasks: hand tasks in plain words to the computer-use agent. */
@Injectable()
export class TaskTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly sessions: SessionService,
    private readonly agent: AgentService,
    private readonly screenshots: ScreenshotService,
    private readonly config: AppConfig,
  ) {}

  register(ctx: ToolContext) {
    ctx.server.registerTool(
      'run_cua_task',
      {
        title: 'Run a computer-use task',
        description:
          "Give a task in plain words (e.g. \"open the terminal and list the files in the home folder\"); a computer-use model works on your session's " +
          'computer, looking at the screen and acting, until it is done. Returns the final answer with a summary of the steps, and a final screenshot. ' +
          'Long tasks report progress when you send a progressToken; cancelling the request stops the task.',
        inputSchema: z.object({ task: taskField, session_id: sessionIdField }).strict(),
        annotations: { destructiveHint: true, openWorldHint: true },
      },
      (args, extra) =>
        this.runner.run('run_cua_task', ctx, extra, async (scope) => {
          const session = await scope.session(args.session_id);
          const progress = new Progress(extra);
          const outcome = await this.runOne(scope, session, this.sessions.computerOf(session), args.task, progress);
          return { content: outcome.content, isError: outcome.isError || undefined };
        }),
    );

    ctx.server.registerTool(
      'run_multi_cua_tasks',
      {
        title: 'Run several computer-use tasks',
        description:
          `Run up to ${MAX_MULTI_TASKS} tasks in plain words. concurrent=false (default): one after another on your session's computer. ` +
          "concurrent=true: each task on its own computer at the same time (the session's computer for the first, extra ones from the pool for the rest, " +
          'returned afterwards). Returns one text + screenshot pair per task, in input order; a failed task gives an error entry and the others still finish.',
        inputSchema: z
          .object({
            tasks: z.array(taskField).min(1, 'tasks must hold at least one task').max(MAX_MULTI_TASKS, `at most ${MAX_MULTI_TASKS} tasks per call`),
            concurrent: z.boolean().optional().default(false),
            session_id: sessionIdField,
          })
          .strict(),
        annotations: { destructiveHint: true, openWorldHint: true },
      },
      (args, extra) =>
        this.runner.run('run_multi_cua_tasks', ctx, extra, async (scope) => {
          const session = await scope.session(args.session_id);
          const n = args.tasks.length;
          const progress = new Progress(extra, n);
          let finished = 0;
          const results: { content: Content; isError: boolean }[] = [];
          const record = (i: number, r: { content: Content; isError: boolean }) => {
            results[i] = r;
            finished++;
            progress.report(`${finished}/${n} tasks finished (task ${i + 1} ${r.isError ? 'failed' : 'done'})`, finished);
          };
          progress.report(`0/${n} tasks finished`, 0);
          if (!args.concurrent) {
            for (let i = 0; i < n; i++) {
              if (scope.signal.aborted) {
                record(i, { content: toToolError(scope.signal.reason).content, isError: true });
                continue;
              }
              record(i, await this.runOne(scope, session, this.sessions.computerOf(session), args.tasks[i], undefined, i + 1));
            }
          } else {
            await Promise.all(
              args.tasks.map(async (task, i) => {
                if (i === 0) return record(i, await this.runOne(scope, session, this.sessions.computerOf(session), task, undefined, 1));
                let lease;
                try {
                  lease = await this.sessions.leaseExtra(session, scope.signal);
                } catch (e) {
                  return record(i, { content: [text(`Task ${i + 1} could not get a computer: ${errorText(e)}`)], isError: true });
                }
                try {
                  record(i, await this.runOne(scope, session, lease.computer, task, undefined, i + 1));
                } finally {
                  await this.sessions.releaseExtra(session, lease);
                }
              }),
            );
          }
          const failed = results.filter((r) => r.isError).length;
          const content: Content = [text(`${n - failed} of ${n} tasks succeeded${args.concurrent ? ' (run concurrently)' : ''}.`)];
          for (const r of results) content.push(...r.content);
          return { content, isError: failed === n || undefined };
        }),
    );
  }

  /** Runs one task as a session task; returns a text + image pair (error entries keep the steps done). */
  private async runOne(scope: CallScope, session: Session, computer: Computer, task: string, progress?: Progress, index?: number) {
    const label = index ? `Task ${index}` : 'Task';
    const started = Date.now();
    let steps = 0;
    progress?.heartbeat(this.config.agent.heartbeatMs, () => `working: step ${steps} done, ${Math.round((Date.now() - started) / 1000)} s`);
    progress?.report('started', 0);
    try {
      const result: AgentResult = await this.sessions.runTask(session, task.slice(0, 80), scope.signal, (signal) =>
        this.agent.run(task, computer, {
          signal,
          onStep: (s) => {
            steps = s.step;
            progress?.report(`step ${s.step}: ${s.results.join('; ') || s.thought || 'looked'}`, s.step);
            scope.log('info', { session: session.id, computer: computer.id, step: s.step, thought: s.thought, results: s.results });
          },
        }),
      );
      const body = `${label} finished in ${result.steps.length} step(s) with ${result.model} on computer ${computer.id} (session ${session.id}).\nAnswer: ${result.answer}\nSteps:\n${summarize(result.steps)}\nFinal screenshot: ${describeShot(result.screenshot)}`;
      return { content: [text(body), imageBlock(result.screenshot)] as Content, isError: false };
    } catch (e) {
      const done = isDomainError(e) ? (e.details?.steps as StepRecord[] | undefined) : undefined;
      let body = `${label} failed: ${errorText(e)}`;
      if (done?.length) body += `\nSteps done before it stopped:\n${summarize(done)}`;
      const content: Content = [text(body)];
      // The screen as it was left helps the caller decide what to do; skip it when the computer is gone or we were cancelled.
      if (isDomainError(e, 'COMPUTER_FAILED') && session.lease?.computer === computer) await this.sessions.recoverComputer(session).catch(() => false);
      if (!scope.signal.aborted && !isDomainError(e, 'COMPUTER_FAILED')) {
        const shot = await this.screenshots.take(computer, 'png').catch(() => undefined);
        if (shot) content.push(imageBlock(shot));
      }
      return { content, isError: true };
    } finally {
      progress?.stop();
    }
  }
}
