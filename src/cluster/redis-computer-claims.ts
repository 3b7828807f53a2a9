import { Injectable } from '@nestjs/common';
import { ComputerClaims, type ComputerClaim, type TakeResult } from './computer-claims';
import { RedisConnection } from './redis-connection';
import { REGISTRY_PREFIX } from './redis-session-registry';

const claimKey = (handle: string) => `${REGISTRY_PREFIX}c:${handle}`;

/** The claims on remote computers in Redis (REDIS_URL), shared by every replica; each change is one Lua script. */
@Injectable()
export class RedisComputerClaims extends ComputerClaims {
  constructor(private readonly redis: RedisConnection) {
    super();
  }

  take(handle: string, holder: string): Promise<TakeResult> {
    return this.claim(handle, holder, false);
  }

  adopt(handle: string, holder: string): Promise<TakeResult> {
    return this.claim(handle, holder, true);
  }

  private async claim(handle: string, holder: string, adopting: boolean): Promise<TakeResult> {
    const [outcome, who, state] = await this.redis.call((c) => c.computerTake(claimKey(handle), [holder, REGISTRY_PREFIX, handle, adopting ? '1' : '0']));
    if (outcome === 'held') return { taken: false, holder: who };
    if (outcome !== 'taken') throw new Error(`The computer claim script answered ${JSON.stringify(outcome)}`);
    return who === undefined ? { taken: true } : { taken: true, previous: { holder: who, ...(state !== undefined && { state }) } };
  }

  async keep(handle: string, holder: string, state: string): Promise<boolean> {
    return (await this.redis.call((c) => c.computerKeep(claimKey(handle), [holder, state]))) === 1;
  }

  async release(handle: string, holder: string): Promise<boolean> {
    return (await this.redis.call((c) => c.computerRelease(claimKey(handle), holder))) === 1;
  }

  async get(handle: string): Promise<ComputerClaim | undefined> {
    const f = await this.redis.call((c) => c.hGetAll(claimKey(handle)));
    return f.holder ? { holder: f.holder, ...(f.state !== undefined && { state: f.state }) } : undefined;
  }
}
