import { Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { InjectSettings } from '../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from './computer.settings';
import { discoverNamed } from '../common/discover';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { CheckedComputer } from './checked-computer';
import { Computer, ComputerProvider, CreateComputerOptions } from './computer.port';

/**
 * Marks a class (a subclass of ComputerProvider listed in some module's `providers`) as a
 * computer provider. Any module imported into the app can contribute one; built-ins use it too.
 */
export const RegisterComputerProvider = DiscoveryService.createDecorator<void>();

/** Finds every registered ComputerProvider and hands out computers of the one COMPUTER_PROVIDER selects. */
@Injectable()
export class ComputerProviderRegistry implements OnModuleInit, OnApplicationBootstrap {
  private readonly providers = new Map<string, ComputerProvider>();

  constructor(
    private readonly discovery: DiscoveryService,
    @InjectSettings(COMPUTER_SETTINGS) private readonly settings: ComputerSettings,
  ) {}

  onModuleInit(): void {
    for (const [name, provider] of discoverNamed(this.discovery, RegisterComputerProvider, ComputerProvider, 'computer provider')) {
      this.providers.set(name, provider);
    }
    if (!this.providers.has(this.settings.provider)) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        `COMPUTER_PROVIDER=${this.settings.provider} is not a registered computer provider. Known: ${this.names().join(', ')}.`,
      );
    }
  }

  /** Lets the selected provider check its prerequisites (programs, packages) before anything is served. */
  async onApplicationBootstrap(): Promise<void> {
    await this.active().checkReady?.();
  }

  names(): string[] {
    return [...this.providers.keys()].sort();
  }

  active(): ComputerProvider {
    const p = this.providers.get(this.settings.provider);
    if (!p) throw new Error('ComputerProviderRegistry used before module init');
    return p;
  }

  /** A computer of the selected provider, behind the port's one set of input checks (CheckedComputer). */
  /** The selected provider's limit on computers alive at once, if it has one. */
  capacity(): number | undefined {
    return this.active().capacity();
  }

  async create(options: CreateComputerOptions): Promise<Computer> {
    return new CheckedComputer(await this.active().create(options));
  }

  /** The handle another replica could adopt the computer by (see ComputerProvider.handleOf); undefined for a local one. */
  handleOf(computer: Computer): string | undefined {
    return this.active().handleOf(computer instanceof CheckedComputer ? computer.inner : computer);
  }

  /** Takes over the computer a session's record names (ComputerProvider.adopt), behind the same input checks. */
  async adopt(handle: string, options: CreateComputerOptions): Promise<Computer> {
    return new CheckedComputer(await this.active().adopt(handle, options));
  }
}
