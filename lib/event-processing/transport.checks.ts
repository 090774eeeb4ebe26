import type { ModulesContainer } from '@nestjs/core';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { DurableHandlerOptions } from './durable-handler.options';

/** What the checks read of a Nest microservice server (`Transport` ids of @nestjs/microservices). */
export interface MicroserviceServer {
  transportId?: unknown;
  /** ServerRMQ: acknowledges on delivery unless `noAck: false`. */
  noAck?: boolean;
  /** JetStreamServer: each message has an identity of its own (stream sequence). */
  providesMessageIdentity?: boolean;
}

const RMQ = 5;
const KAFKA = 6;
const TRANSPORT_NAMES: Record<number, string> = { 0: 'TCP', 1: 'Redis', 2: 'NATS (core)', 3: 'MQTT', 4: 'gRPC', 5: 'RabbitMQ', 6: 'Kafka' };

/** The microservices connected so far (a hybrid app connects them before the module initializes). */
export function microservicesOf(modules: ModulesContainer): MicroserviceServer[] {
  const servers: MicroserviceServer[] = [];
  // A ReplaySubject: subscribing hands over every server added so far, synchronously.
  modules
    .getRpcTargetRegistry?.<MicroserviceServer>()
    .subscribe((server) => servers.push(server))
    .unsubscribe();
  return servers;
}

/**
 * Fails at startup when a durable handler could be served by a transport that cannot keep its
 * promise: RabbitMQ acknowledging on delivery (`noAck` not false), or no key where the transport
 * gives a message no identity.
 */
export function checkTransports(where: string, options: DurableHandlerOptions, transport: unknown, servers: MicroserviceServer[]): void {
  const serving = servers.filter((s) => transport === undefined || s.transportId === undefined || s.transportId === transport);
  for (const server of serving) {
    const name = nameOf(server);
    if (server.transportId === RMQ && server.noAck !== false) {
      throw new DbosConfigurationError(
        `${where}: the RabbitMQ microservice acknowledges messages on delivery; set noAck: false in its options so they are acknowledged once the workflow's start is durable.`,
      );
    }
    const hasIdentity = server.transportId === RMQ || server.transportId === KAFKA || server.providesMessageIdentity === true;
    if (!options.key && !hasIdentity) {
      throw new DbosConfigurationError(
        `${where}: ${name} gives a message no identity that is the same on every delivery; give the decorator a key ({ key: (data) => data.id }).`,
      );
    }
  }
}

function nameOf(server: MicroserviceServer): string {
  return typeof server.transportId === 'number'
    ? `the ${TRANSPORT_NAMES[server.transportId] ?? 'custom'} transport`
    : `the custom transport ${server.constructor.name}`;
}
