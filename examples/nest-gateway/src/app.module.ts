import { Module } from '@nestjs/common';
import { gatewaySyncOptions } from './config.ts';
import { GatewayController } from './gateway.controller.ts';
import { HttpDrain } from './http-drain.ts';
import type { RoutingTable } from './routing-table.ts';
import { S3SyncModule } from './s3-sync.module.ts';

/** The routes; reads the sync that a global `S3SyncModule` provides. */
@Module({ controllers: [GatewayController] })
export class GatewayModule {}

/** The application: the sync configured from the environment, the gateway's routes, a bounded shutdown. */
@Module({
  imports: [
    S3SyncModule.forRootAsync<RoutingTable>({ useFactory: () => gatewaySyncOptions(process.env) }),
    GatewayModule,
  ],
  providers: [HttpDrain],
})
export class AppModule {}
