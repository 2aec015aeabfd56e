/**
 * `sockwise/redis`: topics across processes and machines over Redis. Pass a {@link RedisBroker}
 * as the `broker` option of `WebSocketServer` (docs/pubsub.md). Needs the optional peer
 * dependency `ioredis`.
 *
 * @module
 */
export {
  RedisBroker,
  REDIS_BROKER_DEFAULTS,
  type RedisBrokerOptions,
  type RedisBrokerEvents,
} from "./redis-broker.js";
export type { Broker, BrokerSink, BrokerStatus } from "../server/broker.js";
