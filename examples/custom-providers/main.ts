/** Boots the server with the Acme providers added: the same as src/main.ts, plus one import. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src';
import { AcmeModule } from './acme.module';

async function main() {
  const app = await NestFactory.create(AppModule.forRoot({ imports: [AcmeModule] }), { bodyParser: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
}
void main();
