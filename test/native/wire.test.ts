// The native wire defined once (native/engine/wire.h): the committed lib/generated/wire.ts is
// what scripts/generate-wire.js makes of the header, and every event type, the Apple engine's
// included, survives the bridge's real encoder (native/bridge/event_to_js.cc, reached through the
// test-only encodeEventsForTest) and the generated decoder with every field intact.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { binding } from '../../lib/binding';
import {
  decodeEvents,
  EVENT_FIELDS,
  EventType,
  METRICS_FIELDS,
  type NativeEvent,
  type NativeEventType,
} from '../../lib/generated/wire';

const root = path.join(__dirname, '..', '..');
type Batch = [Float64Array, string, ArrayBuffer[] | undefined];
const encodeEventsForTest = (binding as unknown as { encodeEventsForTest: (events: object[]) => Batch })
  .encodeEventsForTest;

// A distinct value per field (by kind), so that two fields read in each other's place differ.
function valueOf(kind: string, seed: number, name: string): unknown {
  switch (kind) {
    case 'Number':
      return 1000 + seed;
    case 'TaskKind':
      return (seed % 2) + 1; // 1 or 2: not the Event's default (Data) by accident for both
    case 'Text':
      return `${name}-${seed}-é✓`;
    case 'Body':
      return Buffer.from(`${name} bytes ${seed}\u0000\u00ff`, 'latin1');
    case 'Headers':
      return ['content-type', `text/plain; seed=${seed}`, 'x-two', `second ${seed}`];
    case 'Metrics':
      return Object.fromEntries(
        METRICS_FIELDS.map(([field, fieldKind], i) => [field, valueOf(fieldKind, seed * 100 + i, field)]),
      );
    default:
      throw new Error(`no test value for field kind ${kind}`);
  }
}

function everyField(type: NativeEventType, taskIdentifier: number): NativeEvent {
  const event: Record<string, unknown> = { type, taskIdentifier };
  EVENT_FIELDS[type].forEach(([name, kind], i) => {
    if (kind !== 'RestIf' && event[name] === undefined) event[name] = valueOf(kind, taskIdentifier * 10 + i, name);
  });
  return event as unknown as NativeEvent;
}

describe('the native wire', () => {
  it('lib/generated/wire.ts is what native/engine/wire.h generates', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'scripts', 'generate-wire.js'), '--check'], {
      encoding: 'utf8',
    });
    expect(out).toContain('lib/generated/wire.ts is up to date');
  });

  it('round-trips one event of every type with every field set through the bridge encoder', () => {
    const types = Object.values(EventType) as NativeEventType[];
    expect(types).toHaveLength(12);
    const events = types.map((type, i) => everyField(type, 7 + i));
    // TaskCompleted with its optional partial fields left out, as for a task without a partial file.
    const completed = events.find((e) => e.type === EventType.TaskCompleted)!;
    const withoutPartial: NativeEvent = { ...completed, taskIdentifier: 99 };
    for (const name of ['partialBytes', 'partialPath', 'validator', 'partialIdentity', 'segments'] as const)
      delete withoutPartial[name];
    expect(completed.partialPath).toBeTypeOf('string');
    const sent = [...events, withoutPartial];

    const decoded = decodeEvents(...encodeEventsForTest(sent));

    expect(decoded).toEqual(sent);
    // The Apple engine's TaskRecovered in real fields of its own (not statusCode/message).
    const recovered = decoded.find((e) => e.type === EventType.TaskRecovered)!;
    expect(Object.keys(recovered).sort()).toEqual(['kind', 'taskDescription', 'taskIdentifier', 'type', 'url']);
    expect(recovered.taskDescription).toBe('taskDescription-162-é✓');
  });
});
