import type { CallToolResult } from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { StepRecord, TokenUsage } from '../../agent/agent.module';
import { settleJson } from '../../computer/computer.module';
import type { TaskReport } from '../../task/task.module';
import { trajectoryUri } from '../trajectory.resources';
import { describeShot, imageBlock, text } from './content';

type Content = CallToolResult['content'];

/** The steps of a task, one line each. */
export function summarize(steps: readonly StepRecord[]): string {
  return steps
    .map((s) => {
      const still = s.settle?.hitCap ? ` [the screen was still changing ${s.settle.waitedMs} ms later]` : '';
      return `  ${s.step}. ${s.results.length ? s.results.join('; ') : (s.thought ?? 'looked at the screen')}${still}`;
    })
    .join('\n');
}

export function usageJson(u: TokenUsage) {
  return { input_tokens: u.inputTokens, output_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens };
}

const usageSchema = z.object({ input_tokens: z.number(), output_tokens: z.number(), total_tokens: z.number() });

export const taskResultSchema = z.object({
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

export const multiResultSchema = z.object({
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

export type TaskResultJson = z.infer<typeof taskResultSchema>;
export type MultiResultJson = z.infer<typeof multiResultSchema>;

/** A finished task as text + final screenshot, and as structured content. `label`: "Task" or "Task 3". */
export function formatTaskReport(report: TaskReport, label: string): { content: Content; structured: TaskResultJson } {
  const { result, sessionId, computerId } = report;
  const usage = usageJson(result.usage);
  const trajectory = result.trajectoryId ? trajectoryUri(sessionId, result.trajectoryId) : undefined;
  const body =
    `${label} finished in ${result.steps.length} step(s) with ${result.model} on computer ${computerId} (session ${sessionId}).\n` +
    `Answer: ${result.answer}\nSteps:\n${summarize(result.steps)}\n` +
    `Usage: ${usage.input_tokens} input + ${usage.output_tokens} output tokens.\n` +
    (trajectory ? `Trajectory: ${trajectory}\n` : '') +
    `Final screenshot: ${describeShot(result.screenshot)}`;
  const structured: TaskResultJson = {
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
    session_id: sessionId,
    computer_id: computerId,
    ...(trajectory ? { trajectory } : {}),
  };
  return { content: [text(body), imageBlock(result.screenshot)], structured };
}
