import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { discoverNamed } from '../../common/discover';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer.settings';
import { XVFB_SETTINGS, type XvfbSettings } from './xvfb.settings';
import { DesktopProfile, MinimalDesktop, RegisterDesktopProfile, StandardDesktop } from './desktop-profile';

/** The built-in profiles, registered like any team's own. */
@Injectable()
@RegisterDesktopProfile()
export class StandardDesktopProfile extends StandardDesktop {}

@Injectable()
@RegisterDesktopProfile()
export class MinimalDesktopProfile extends MinimalDesktop {}

/** Finds every registered DesktopProfile and gives the one DESKTOP_PROFILE names. */
@Injectable()
export class DesktopProfileRegistry implements OnModuleInit {
  private readonly profiles = new Map<string, DesktopProfile>();

  constructor(
    private readonly discovery: DiscoveryService,
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
    @InjectSettings(XVFB_SETTINGS) private readonly xvfb: XvfbSettings,
  ) {}

  onModuleInit(): void {
    for (const [name, profile] of discoverNamed(this.discovery, RegisterDesktopProfile, DesktopProfile, 'desktop profile')) this.profiles.set(name, profile);
    if (this.computer.provider === 'xvfb') this.active();
  }

  names(): string[] {
    return [...this.profiles.keys()].sort();
  }

  /** The profile DESKTOP_PROFILE names; INVALID_ARGUMENT naming the known ones otherwise. */
  active(): DesktopProfile {
    const name = this.xvfb.desktopProfile;
    const p = this.profiles.get(name);
    if (!p) throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `DESKTOP_PROFILE=${name} is not a registered desktop profile. Known: ${this.names().join(', ')}.`);
    return p;
  }
}
