import { Logger } from '@nestjs/common';

// Unit specs assert behaviour, not log lines; keep their output readable.
Logger.overrideLogger(false);
