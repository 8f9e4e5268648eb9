// The decoder of the engine's event batches: generated from native/engine/wire.h into
// lib/generated/wire.ts, re-exported here for lib/ (and bench/peers).
export { decodeEvents } from './generated/wire';
