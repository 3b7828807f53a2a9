import { Module } from '@nestjs/common';
import { ComputerModule } from '../computer/computer.module';
import { SessionModule } from '../session/session.module';
import { ControlService } from './control.service';

/** Direct use of a session's computer, without a model: screenshots, single actions, commands, background programs. */
@Module({ imports: [SessionModule, ComputerModule], providers: [ControlService], exports: [ControlService] })
export class ControlModule {}

export { ControlService } from './control.service';
export type { ActOptions, ActResult, CommandRun, Launched } from './control.service';
