import type { StepRecord } from '../agent/agent.module';

/** Strings longer than this are cut in the action log (typed text, commands, task texts). */
export const MAX_STRING = 2_000;

/** One action of an agent step, as the action log writes it. */
export interface AgentActionLine {
  action: string;
  args: Record<string, unknown>;
  /** ok, error, or skipped (not carried out). */
  outcome: string;
  /** What the action did, or why it failed. */
  result?: string;
}

/** One line of actions.jsonl. */
export interface ActionLine {
  /** When the call or step began (ISO 8601). */
  time: string;
  session: string;
  /** tool: an MCP tool call on the session; agent: one step of a task's agent (`name` "step"). */
  source: 'tool' | 'agent';
  /** The tool's name, or "step". */
  name: string;
  /** For the `computer` tool: the action. */
  action?: string;
  /** The call's arguments (secrets redacted, long texts cut, no images). */
  args?: Record<string, unknown>;
  /** For agent steps: the step number, the task's position in its call, the computer, the model's words and each action. */
  step?: number;
  task?: number;
  computer?: string;
  thought?: string;
  actions?: AgentActionLine[];
  /** ok, or the error code of a tool call; ok / error for an agent step (error when one of its actions failed). */
  outcome: string;
  duration_ms: number;
}

/** A tool call to record (from the MCP layer). */
export interface ToolCallRecord {
  principal: string;
  sessionId: string;
  tool: string;
  /** The call's arguments as the client sent them. */
  args: Record<string, unknown>;
  outcome: string;
  startedAt: number;
  durationMs: number;
}

/** Cuts long strings, drops images (base64 data), keeps numbers, booleans and structure; every string goes through `redact`. */
export function cleanArgs(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') {
    const text = redact(value);
    return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}… (${text.length - MAX_STRING} more characters)` : text;
  }
  if (Array.isArray(value)) return value.map((v) => cleanArgs(v, redact));
  if (value && typeof value === 'object') {
    if (Buffer.isBuffer(value)) return `(${value.length} bytes)`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'image' || k === 'data' || k === 'blob') continue;
      out[k] = cleanArgs(v, redact);
    }
    return out;
  }
  return value;
}

/** The line of a tool call: the `computer` tool's action apart from its arguments; session_id left out (the line names the session). */
export function toolLine(call: ToolCallRecord, redact: (text: string) => string): ActionLine {
  const { session_id: _session, ...rest } = call.args;
  const { action, ...args } = call.tool === 'computer' ? rest : { action: undefined, ...rest };
  return {
    time: new Date(call.startedAt).toISOString(),
    session: call.sessionId,
    source: 'tool',
    name: call.tool,
    ...(typeof action === 'string' ? { action } : {}),
    args: cleanArgs(args, redact) as Record<string, unknown>,
    outcome: call.outcome,
    duration_ms: Math.round(call.durationMs),
  };
}

/** An agent step to record (from the task feature's `step` event). */
export interface AgentStepRecord {
  sessionId: string;
  task: number;
  computerId: string;
  step: StepRecord;
  startedAt: number;
  durationMs: number;
}

/** The line of one agent step: its actions with what became of each; the step failed when one of them did. */
export function agentLine(e: AgentStepRecord, redact: (text: string) => string): ActionLine {
  const actions: AgentActionLine[] = e.step.actions.map(({ action, ...args }, i) => {
    const o = e.step.outcomes[i];
    return { action, args: cleanArgs(args, redact) as Record<string, unknown>, outcome: o?.status ?? 'skipped', ...(o?.text ? { result: cleanArgs(o.text, redact) as string } : {}) };
  });
  return {
    time: new Date(e.startedAt).toISOString(),
    session: e.sessionId,
    source: 'agent',
    name: 'step',
    step: e.step.step,
    task: e.task,
    computer: e.computerId,
    ...(e.step.thought ? { thought: cleanArgs(e.step.thought, redact) as string } : {}),
    actions,
    outcome: actions.some((a) => a.outcome === 'error') ? 'error' : 'ok',
    duration_ms: Math.round(e.durationMs),
  };
}
