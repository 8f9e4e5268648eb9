// Names for the numbers that cross the native boundary, and the packing of a task request:
// generated from native/engine/wire.h into lib/generated/wire.ts, re-exported here for lib/.
export { EventType, TaskKind, packTaskRequest } from './generated/wire';
