import { Injectable, Logger } from '@nestjs/common';
import {
  CUA_AUTH_COMMAND,
  CUA_AUTH_MESSAGES,
  CUA_MAX_MESSAGE_BYTES,
  CUA_UNSUPPORTED_COMMANDS,
  CuaAuthParams,
  CuaFailure,
  CuaParams,
  CuaReply,
  resolveCuaCommand,
} from '../cua-protocol';
import { linkSignals, withTimeout } from '../common/async';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { CuaAuthenticator } from './cua-auth';
import { CuaCommandService } from './cua-commands.service';

/** What a request came to: a reply, or a command this server does not know (channels answer that differently). */
export type CuaOutcome = { kind: 'reply'; reply: CuaReply } | { kind: 'unknown'; error: string };

const fail = (error: string): CuaFailure => ({ success: false, error });

/**
 * Runs requests from both channels: resolves the command (aliases too), checks its params,
 * runs it, and turns any failure into `success: false`. Tracks what is in flight so shutdown
 * can wait for it (with a timeout) and then stop it.
 */
@Injectable()
export class CuaDispatcher {
  private readonly log = new Logger('CuaServer');
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Aborted when shutdown stops waiting: stops running shell commands and file transfers. */
  private readonly stopAll = new AbortController();
  private draining = false;

  constructor(
    private readonly commands: CuaCommandService,
    private readonly auth: CuaAuthenticator,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  run(command: string, params: CuaParams, signal?: AbortSignal): Promise<CuaOutcome> {
    const work = this.execute(command, params, signal);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  private async execute(command: string, params: CuaParams, signal?: AbortSignal): Promise<CuaOutcome> {
    if (command === CUA_AUTH_COMMAND) {
      // Over WS the gateway answers it; here (HTTP) the headers were already checked.
      if (!this.auth.enabled) return { kind: 'reply', reply: { success: true, message: 'Authentication not required' } as CuaReply };
      const p = params as CuaAuthParams;
      const problem = this.auth.check(p.api_key, p.container_name);
      return { kind: 'reply', reply: problem ? fail(problem) : ({ success: true, message: CUA_AUTH_MESSAGES.ok } as CuaReply) };
    }
    const spec = resolveCuaCommand(command);
    const offered = spec && this.commands.offered().some((s) => s.name === spec.name);
    if (!spec || !offered) {
      if (spec || CUA_UNSUPPORTED_COMMANDS.includes(command)) {
        return { kind: 'reply', reply: fail(`${command} is not supported by this server`) };
      }
      return { kind: 'unknown', error: `Unknown command: ${command}` };
    }
    if (this.draining) return { kind: 'reply', reply: fail('The server is shutting down; the command was not run.') };
    const link = linkSignals(signal, this.stopAll.signal);
    const started = Date.now();
    try {
      const fields = await this.commands.execute(spec, params, link.signal);
      const reply = { success: true, ...fields } as CuaReply;
      this.log.debug(`${spec.name} ok in ${Date.now() - started} ms`);
      return { kind: 'reply', reply: this.capped(spec.name, reply) };
    } catch (e) {
      const message = errorMessage(e);
      if (!(e instanceof DomainError)) this.log.warn(`${spec.name} failed unexpectedly: ${message}`);
      else this.log.debug(`${spec.name} failed: ${e.code}`);
      return { kind: 'reply', reply: fail(message) };
    } finally {
      link.dispose();
    }
  }

  /** A reply too big for a message would break the client's framing: answer with an error instead. */
  private capped(name: string, reply: CuaReply): CuaReply {
    const size = Buffer.byteLength(JSON.stringify(reply), 'utf8');
    if (size <= CUA_MAX_MESSAGE_BYTES) return reply;
    return fail(`${name}: the reply would be ${size} bytes, more than the ${CUA_MAX_MESSAGE_BYTES}-byte message limit.`);
  }

  /**
   * Stops taking commands, waits up to `graceMs` for those in flight, then aborts what is left
   * (shell commands and file transfers stop; input actions finish on their own in milliseconds).
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    if (this.inFlight.size === 0) return;
    this.log.log(`Waiting up to ${graceMs} ms for ${this.inFlight.size} command(s) in flight`);
    const all = Promise.allSettled([...this.inFlight]);
    try {
      await withTimeout(all, graceMs, () => new DomainError(DomainErrorCode.TIMEOUT, 'drain timeout'));
    } catch {
      this.log.warn(`Stopping ${this.inFlight.size} command(s) still running after ${graceMs} ms`);
      this.stopAll.abort(new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down.'));
      await withTimeout(Promise.allSettled([...this.inFlight]), 5_000, () => new Error('stop timeout')).catch(() => undefined);
    }
  }
}
