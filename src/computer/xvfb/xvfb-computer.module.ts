import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DesktopProfileRegistry, MinimalDesktopProfile, StandardDesktopProfile } from './desktop-profile.registry';
import { XvfbComputerProvider } from './xvfb-computer.provider';

/** Registers COMPUTER_PROVIDER=xvfb and the built-in desktop profiles (DESKTOP_PROFILE). */
@Module({
  imports: [DiscoveryModule],
  providers: [XvfbComputerProvider, DesktopProfileRegistry, StandardDesktopProfile, MinimalDesktopProfile],
  exports: [XvfbComputerProvider, DesktopProfileRegistry],
})
export class XvfbComputerModule {}

export { XvfbComputerProvider } from './xvfb-computer.provider';
export { XvfbComputer } from './xvfb-computer';
export type { XvfbComputerOptions } from './xvfb-computer';
export { DesktopProfile, RegisterDesktopProfile, STANDARD_LAUNCHERS } from './desktop-profile';
export type { DesktopReady } from './desktop-profile';
