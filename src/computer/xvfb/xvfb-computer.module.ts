import { Module } from '@nestjs/common';
import { XvfbComputerProvider } from './xvfb-computer.provider';

/** Registers COMPUTER_PROVIDER=xvfb. */
@Module({ providers: [XvfbComputerProvider], exports: [XvfbComputerProvider] })
export class XvfbComputerModule {}

export { XvfbComputerProvider } from './xvfb-computer.provider';
export { XvfbComputer } from './xvfb-computer';
export type { XvfbComputerOptions } from './xvfb-computer';
