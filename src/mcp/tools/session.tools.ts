import { Injectable } from '@nestjs/common';
import * as z from 'zod';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { ComputerPool } from '../../pool/pool.module';
import { QuotaService, type WindowFigure } from '../../quota/quota.module';
import { SessionService } from '../../session/session.module';
import type { ToolContext } from '../tool-context';
import { definedOnce } from './tool-definition';
import { text } from './content';
import { sessionIdField } from './schemas';
import { ToolRunner } from './tool-runner';

/** The most sessions one operator's list of every principal's sessions shows. */
const ALL_PRINCIPALS_MAX = 1_000;

const principalField = z
  .string()
  .min(1)
  .max(256)
  .regex(/^\S+$/, 'principal must not contain spaces');

const sessionView = z.object({
  session_id: z.string(),
  kind: z.enum(['named', 'minted', 'default']),
  created_at: z.string(),
  last_activity: z.string(),
  idle_timeout_ms: z.number(),
  active_tasks: z.number(),
  computer: z.string().nullable(),
  controlled_by: z.string().nullable().describe('Who controls the desktop in the live view (the agent and the input tools wait); null when nobody does.'),
});

const releaseSchema = z.object({
  session_id: z.string().nullable().describe('The session addressed; null when none was named and this connection has no default session yet.'),
  released: z.boolean().describe('Whether someone held control and lost it.'),
  released_from: z.string().nullable().describe('Who held control; null when nobody did.'),
});

const windowFigure = z.object({
  used: z.number(),
  limit: z.number().nullable().describe('null: no limit.'),
  resets_at: z.string().describe('When this window ends and its count starts again from 0 (ISO 8601, UTC).'),
});

const quotaSchema = z
  .object({
    tasks: z.object({ running: z.number().describe('Your agent tasks running now (on all replicas).'), limit: z.number().nullable().describe('MAX_TASKS_PER_PRINCIPAL; null: no limit.') }),
    steps: z.object({ hour: windowFigure, day: windowFigure }).describe('Agent steps (model calls) in this UTC hour and day (QUOTA_STEPS_PER_HOUR, QUOTA_STEPS_PER_DAY).'),
    tokens: z.object({ hour: windowFigure, day: windowFigure }).describe('Model tokens, input + output, in this UTC hour and day (QUOTA_TOKENS_PER_HOUR, QUOTA_TOKENS_PER_DAY).'),
  })
  .describe('Your quotas and what you used of them; a task call over one is refused with QUOTA_EXCEEDED.');

const figureJson = (f: WindowFigure): z.infer<typeof windowFigure> => ({ used: f.used, limit: f.limit, resets_at: f.resetsAt.toISOString() });

const statsSchema = z.object({
  total_sessions: z.number().describe('Sessions on the whole server (all callers).'),
  max_concurrent: z.number().describe('The most sessions the server holds at once (MAX_SESSIONS, or the pool\'s capacity when unset).'),
  sessions: z.record(z.string(), sessionView.omit({ session_id: true })).describe('Your own sessions, by id.'),
  pool: z.object({ size: z.number(), leased: z.number(), idle: z.number(), creating: z.number(), waiting: z.number(), max: z.number(), min_warm: z.number() }),
  pool_activity: z
    .record(z.string(), z.unknown())
    .describe('Since start: acquire waits split warm (from stock) and cold, create and lease durations, failures, retirements.'),
  quota: quotaSchema,
});

/** get_session_stats, cleanup_session, create_session, list_sessions, release_control. */
@Injectable()
export class SessionTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly sessions: SessionService,
    private readonly pool: ComputerPool,
    private readonly quotas: QuotaService,
  ) {}

  /** The tools' definitions, built once (tool-definition.ts). */
  private readonly definitions = definedOnce(() => ({
    getSessionStats: {
      title: 'Session statistics',
      description:
        'Show how busy the server is: total sessions and the maximum, your own sessions (created, last activity, running tasks, computer), ' +
        'the computer pool (size, leased, idle, creating, waiting, max, warm target, and warm/cold start figures), and your quotas: agent tasks ' +
        'running and their limit, agent steps and model tokens used in this hour and day with their limits and when each resets. Use it to decide whether to start more work or clean up.',
      inputSchema: z.object({}).strict(),
      outputSchema: statsSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    cleanupSession: {
      title: 'End a session',
      description:
        'End one of your sessions: stops its running tasks, destroys its computer (nothing of it is reused) and frees its slot. ' +
        "Safe to call twice. Use it when you are done with a computer. Operators (permission sessions:admin) end another principal's session by naming it in principal.",
      inputSchema: z
        .object({
          session_id: sessionIdField.unwrap().describe('The session to end.'),
          principal: principalField.optional().describe("Operators only (permission sessions:admin): whose session it is, when not yours."),
        })
        .strict(),
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    createSession: {
      title: 'Create a session',
      description:
        'Start a new session with its own computer and return its id (unguessable, starts with "ses_"). Pass it as session_id to other tools to ' +
        'hold several computers at once. idle_timeout_ms sets how long it may stay unused before it is ended (capped by the server).',
      inputSchema: z
        .object({ idle_timeout_ms: z.number().int().min(1000).optional().describe('Idle time in ms before the session is ended automatically.') })
        .strict(),
      annotations: { openWorldHint: false },
    },
    releaseControl: {
      title: 'Take back control of the desktop',
      description:
        "Hand control of your session's desktop back to the agent when a person has taken it in the live view: their mouse and keyboard " +
        'stop reaching the desktop, a paused run_cua_task goes on, and the computer tool and run_command work again. Says whom control was ' +
        'taken from, or that nobody held it. Starts no session and no computer.',
      inputSchema: z.object({ session_id: sessionIdField }).strict(),
      outputSchema: releaseSchema,
      annotations: { destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    listSessions: {
      title: 'List your sessions',
      description:
        'List your sessions with their ids, kinds, activity times, running tasks and computers. Operators (permission sessions:admin) ' +
        "list another principal's sessions with principal, or every principal's with all_principals (each then names its principal).",
      inputSchema: z
        .object({
          principal: principalField.optional().describe("Operators only (permission sessions:admin): list this principal's sessions instead of yours."),
          all_principals: z.boolean().optional().describe(`Operators only (permission sessions:admin): list every principal's sessions (at most ${ALL_PRINCIPALS_MAX}, oldest first).`),
        })
        .strict(),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
  }));

  register(ctx: ToolContext) {
    const tools = this.definitions();
    const { server, principal } = ctx;

    server.registerTool(
      'get_session_stats',
      tools.getSessionStats,
      (args, extra) =>
        this.runner.run('get_session_stats', ctx, extra, async () => {
          const own = Object.fromEntries(
            (await this.sessions.views(principal)).map((v) => {
              const { session_id, ...rest } = v;
              return [session_id, rest];
            }),
          );
          const q = await this.quotas.figures(principal);
          const stats: z.infer<typeof statsSchema> = {
            total_sessions: await this.sessions.total(),
            max_concurrent: this.sessions.maxSessions(),
            sessions: own,
            pool: this.pool.stats(),
            pool_activity: this.pool.metrics(),
            quota: {
              tasks: q.tasks,
              steps: { hour: figureJson(q.steps.hour), day: figureJson(q.steps.day) },
              tokens: { hour: figureJson(q.tokens.hour), day: figureJson(q.tokens.day) },
            },
          };
          return { content: [text(JSON.stringify(stats, null, 2))], structuredContent: stats };
        }, args),
    );

    server.registerTool(
      'cleanup_session',
      tools.cleanupSession,
      (args, extra) =>
        this.runner.run('cleanup_session', ctx, extra, async () => {
          const owner = args.principal ?? principal;
          const others = owner !== principal;
          const r = others ? await this.sessions.end(owner, args.session_id, 'operator', principal) : await this.sessions.end(principal, args.session_id, 'cleanup');
          const whose = others ? ` of ${owner}` : '';
          const msg = r.ended
            ? `Session ${args.session_id}${whose} ended: ${r.abortedTasks} running task(s) stopped, computer ${r.computers.join(', ') || '(none)'} destroyed.`
            : `Session ${args.session_id}${whose} does not exist here (already ended, never created, or held by another replica of the server); nothing to do.`;
          return {
            content: [text(msg)],
            structuredContent: { session_id: args.session_id, ...(others && { principal: owner }), ended: r.ended, aborted_tasks: r.abortedTasks, computers_destroyed: r.computers },
          };
        }, args),
    );

    server.registerTool(
      'create_session',
      tools.createSession,
      (args, extra) =>
        this.runner.run('create_session', ctx, extra, async ({ signal }) => {
          const s = await this.sessions.create(principal, args.idle_timeout_ms, signal);
          const view = this.sessions.view(s);
          return { content: [text(`Created session ${s.id} with computer ${view.computer} (idle timeout ${s.idleTimeoutMs} ms).`)], structuredContent: { ...view } };
        }, args),
    );

    server.registerTool(
      'release_control',
      tools.releaseControl,
      (args, extra) =>
        this.runner.run('release_control', ctx, extra, async () => {
          const r = this.sessions.releaseControl({ principal, sessionId: args.session_id, connectionId: ctx.connectionId });
          const msg = !r.found
            ? r.sessionId === undefined
              ? 'This connection has no default session yet, so nobody controls its desktop; nothing to release.'
              : `You have no session "${r.sessionId}", so nobody controls its desktop; nothing to release.`
            : r.releasedFrom !== undefined
              ? `Took control of session ${r.sessionId}'s desktop back from ${r.releasedFrom}: the agent and the tools may act again, and a paused task goes on.`
              : `Nobody controlled session ${r.sessionId}'s desktop; nothing to release.`;
          const structuredContent: z.infer<typeof releaseSchema> = { session_id: r.sessionId ?? null, released: r.releasedFrom !== undefined, released_from: r.releasedFrom ?? null };
          return { content: [text(msg)], structuredContent };
        }, args),
    );

    server.registerTool(
      'list_sessions',
      tools.listSessions,
      (args, extra) =>
        this.runner.run('list_sessions', ctx, extra, async () => {
          if (args.all_principals && args.principal !== undefined) {
            throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'Pass either principal (one principal\'s sessions) or all_principals (everyone\'s), not both.');
          }
          if (args.all_principals) {
            const list = await this.sessions.allViews(ALL_PRINCIPALS_MAX);
            const more = list.length === ALL_PRINCIPALS_MAX ? ` (the oldest ${ALL_PRINCIPALS_MAX}; there may be more)` : '';
            return { content: [text(list.length ? `${list.length} session(s)${more}:\n${JSON.stringify(list, null, 2)}` : 'No principal has a session.')], structuredContent: { sessions: list } };
          }
          const owner = args.principal ?? principal;
          const list = await this.sessions.views(owner);
          const none = owner === principal ? 'You have no sessions.' : `${owner} has no sessions.`;
          const listed = owner === principal ? list : list.map(({ session_id, ...rest }) => ({ session_id, principal: owner, ...rest }));
          return { content: [text(listed.length ? JSON.stringify(listed, null, 2) : none)], structuredContent: { sessions: listed } };
        }, args),
    );
  }
}
