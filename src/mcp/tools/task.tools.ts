import { Injectable } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { InjectSettings } from '../../config/config.module';
import { AGENT_SETTINGS, type AgentSettings } from '../../agent/agent.settings';
import { settleJson } from '../../computer/computer.module';
import { TaskOutcome, TaskPauseEvent, TaskResumeEvent, TaskRetryEvent, TaskService, TaskStepEvent } from '../../task/task.module';
import { taskFailureContent, taskFailureSummary } from '../mcp-errors';
import type { ToolContext } from '../tool-context';
import { definedOnce } from './tool-definition';
import { text } from './content';
import { Progress } from './progress';
import { MAX_MULTI_TASKS, modelField, sessionIdField, taskField } from './schemas';
import { formatTaskReport, MultiResultJson, multiResultSchema, taskResultSchema, usageJson } from './task-format';
import { CallScope, ToolFailure, ToolRunner } from './tool-runner';

/** run_cua_task and run_multi_cua_tasks: hand tasks in plain words to the computer-use agent (TaskService). */
@Injectable()
export class TaskTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly tasks: TaskService,
    @InjectSettings(AGENT_SETTINGS) private readonly agent: AgentSettings,
  ) {}

  /** The tools' definitions, built once (tool-definition.ts). */
  private readonly definitions = definedOnce(() => ({
    runCuaTask: {
      title: 'Run a computer-use task',
      description:
        "Give a task in plain words (e.g. \"open the terminal and list the files in the home folder\"); a computer-use model works on your session's " +
        'computer, looking at the screen and acting, until it is done. Returns the final answer with a summary of the steps, the tokens used, and a ' +
        'final screenshot. Long tasks report progress when you send a progressToken; cancelling the request stops the task. While a person ' +
        'controls the desktop in the live view the task pauses (its progress says so) and goes on when control is handed back. Your quotas ' +
        '(tasks at once, agent steps and model tokens per hour and day: see get_session_stats) apply: over one, the call is refused, or the ' +
        'task stops before its next step, with QUOTA_EXCEEDED saying when to retry.',
      inputSchema: z.object({ task: taskField, session_id: sessionIdField, model: modelField }).strict(),
      outputSchema: taskResultSchema,
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    runMultiCuaTasks: {
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
  }));

  register(ctx: ToolContext) {
    const tools = this.definitions();
    ctx.server.registerTool(
      'run_cua_task',
      tools.runCuaTask,
      (args, extra) =>
        this.runner.run('run_cua_task', ctx, extra, async (scope) => {
          const model = this.tasks.resolveModel(args.model);
          // Before the session: a call over quota opens nothing and leases no computer.
          const admission = await this.tasks.admit(ctx.principal, 1, false);
          try {
            const session = await scope.session(args.session_id);
            const progress = new Progress(extra, this.agent.maxSteps);
            const started = Date.now();
            let steps = 0;
            let paused: { heldBy: string; since: number } | undefined;
            progress.heartbeat(this.agent.heartbeatMs, () =>
              paused
                ? `paused for ${Math.round((Date.now() - paused.since) / 1000)} s: a person (${paused.heldBy}) controls the desktop in the live view`
                : `working: step ${steps} done, ${Math.round((Date.now() - started) / 1000)} s`,
            );
            progress.report('started', 0);
            try {
              const report = await this.tasks.runOne(session, args.task, {
                signal: scope.signal,
                admission,
                model,
                onStep: (e) => {
                  steps = e.step.step;
                  progress.report(`step ${e.step.step}: ${e.step.results.join('; ') || e.step.thought || 'looked'}`, e.step.step);
                  logStep(scope, session.id, e);
                },
                onRetry: (e) => {
                  progress.report(`step ${e.step}: ${e.message}`);
                  logRetry(scope, session.id, e);
                },
                onPause: (e) => {
                  paused = { heldBy: e.heldBy, since: Date.now() };
                  progress.report(pausedText(e, session.control.idleMs));
                  logControl(scope, session.id, e);
                },
                onResume: (e) => {
                  paused = undefined;
                  progress.report(resumedText(e));
                  logControl(scope, session.id, e);
                },
              });
              const { content, structured } = formatTaskReport(report, 'Task');
              return { content, structuredContent: structured };
            } finally {
              progress.stop();
            }
          } finally {
            await admission.close();
          }
        }, args),
    );

    ctx.server.registerTool(
      'run_multi_cua_tasks',
      tools.runMultiCuaTasks,
      (args, extra) =>
        this.runner.run('run_multi_cua_tasks', ctx, extra, async (scope) => {
          const model = this.tasks.resolveModel(args.model);
          const n = args.tasks.length;
          const admission = await this.tasks.admit(ctx.principal, n, args.concurrent);
          try {
            const session = await scope.session(args.session_id);
            const progress = new Progress(extra, n);
            let finished = 0;
            try {
              const outcomes = await this.tasks.runMany(session, args.tasks, {
                signal: scope.signal,
                admission,
                model,
                concurrent: args.concurrent,
                onStart: () => {
                  progress.report(`0/${n} tasks finished`, 0);
                  // Tasks can run for minutes: a heartbeat between them keeps clients that reset their timeout on progress waiting.
                  const started = Date.now();
                  progress.heartbeat(this.agent.heartbeatMs, () => `${finished}/${n} tasks finished, working for ${Math.round((Date.now() - started) / 1000)} s`);
                },
                onTaskDone: (i, outcome) => {
                  finished++;
                  progress.report(`${finished}/${n} tasks finished (task ${i + 1} ${outcome.ok ? 'done' : 'failed'})`, finished);
                },
                onStep: (e) => logStep(scope, session.id, e),
                onRetry: (e) => logRetry(scope, session.id, e),
                onPause: (e) => {
                  progress.report(`task ${e.task + 1} ${pausedText(e, session.control.idleMs)}`);
                  logControl(scope, session.id, e);
                },
                onResume: (e) => {
                  progress.report(`task ${e.task + 1} ${resumedText(e)}`);
                  logControl(scope, session.id, e);
                },
              });
              return formatMulti(outcomes, args.concurrent);
            } finally {
              progress.stop();
            }
          } finally {
            await admission.close();
          }
        }, args),
    );
  }
}

function logStep(scope: CallScope, sessionId: string, e: TaskStepEvent) {
  const s = e.step;
  scope.log('info', {
    session: sessionId,
    computer: e.computerId,
    step: s.step,
    of: e.maxSteps,
    thought: s.thought,
    actions: s.actions,
    results: s.results,
    settle: s.settle ? settleJson(s.settle) : undefined,
    usage: s.usage ? usageJson(s.usage) : undefined,
  });
}

function logRetry(scope: CallScope, sessionId: string, e: TaskRetryEvent) {
  scope.log('warning', { session: sessionId, computer: e.computerId, step: e.step, retry: e.message });
}

/** A task paused: why, and what brings it back. */
function pausedText(e: TaskPauseEvent, idleMs: number): string {
  return (
    `paused at step ${e.step}: a person (${e.heldBy}) has taken control of the desktop in the live view; the task goes on when control ` +
    `is handed back (the live view's button, the release_control tool, or ${Math.round(idleMs / 1000)} s without their input)`
  );
}

function resumedText(e: TaskResumeEvent): string {
  return `resumed at step ${e.step}: control of the desktop was handed back after ${(e.pausedMs / 1000).toFixed(1)} s`;
}

function logControl(scope: CallScope, sessionId: string, e: TaskPauseEvent | TaskResumeEvent) {
  const what = 'heldBy' in e ? { paused: true, held_by: e.heldBy } : { resumed: true, paused_ms: Math.round(e.pausedMs) };
  scope.log('info', { session: sessionId, computer: e.computerId, step: e.step, ...what });
}

/** One text + screenshot pair (or error entry) per task, in input order; isError only when every task failed. */
function formatMulti(outcomes: TaskOutcome[], concurrent: boolean): CallToolResult | ToolFailure {
  const n = outcomes.length;
  const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  const content: CallToolResult['content'] = [text(`${n - failures.length} of ${n} tasks succeeded${concurrent ? ' (run concurrently)' : ''}.`)];
  const results: MultiResultJson['results'] = outcomes.map((o, i) => {
    const label = `Task ${i + 1}`;
    if (!o.ok) {
      content.push(...taskFailureContent(o.error, label));
      const { error, stepsDone } = taskFailureSummary(o.error);
      return { task: i + 1, ok: false, error, steps_done: stepsDone };
    }
    const report = formatTaskReport(o.report, label);
    content.push(...report.content);
    return { task: i + 1, ok: true, result: report.structured };
  });
  const structuredContent: MultiResultJson = { succeeded: n - failures.length, failed: failures.length, concurrent, results };
  if (failures.length < n) return { content, structuredContent };
  return new ToolFailure({ content, isError: true, structuredContent }, failures[0].code);
}
