// Types of the compiled addon (native/addon.cc, native/bridge/). Internal to lib/.

// The wire's types are generated from native/engine/wire.h (scripts/generate-wire.js).
export type { NativeEvent, NativeEventType, NativeMetrics, NativeTaskKind, NativeTaskRequest } from './generated/wire';

export interface NativeSessionConfig {
  identifier: string;
  persistent: boolean;
  headers: string[];
  stateDirectory: string;
  timeoutIntervalForRequest: number;
  timeoutIntervalForResource: number;
  maximumConnectionsPerHost: number;
  maximumRedirects: number;
  allowsInsecureRedirects: boolean;
  progressIntervalMs: number;
  caPem: string;
  pinnedSpkiSha256: string[];
  /** 0 always, 1 never, 2 only from the main document's domain. */
  cookieAcceptPolicy: 0 | 1 | 2;
  /** 0 system/environment, 1 direct, 2 explicit (proxyUrl, noProxy). */
  proxyMode: 0 | 1 | 2;
  proxyUrl: string;
  noProxy: string;
  allowsCellularAccess: boolean;
  allowsExpensiveNetworkAccess: boolean;
  allowsConstrainedNetworkAccess: boolean;
  /** Bytes per second, each direction, all tasks together; 0: none. */
  maximumBytesPerSecond: number;
}

export declare class NativeSession {
  /** onEvents receives one encoded batch: decode it with lib/generated/wire.ts's decodeEvents. */
  constructor(
    config: NativeSessionConfig,
    onEvents: (numbers: Float64Array, text: string, bodies: ArrayBuffer[] | undefined) => void,
  );
  /** `packed` is packTaskRequest(request, taskDescription) (lib/generated/wire.ts). */
  startTask(packed: unknown[]): void;
  cancelTask(taskIdentifier: number): void;
  suspendTask(taskIdentifier: number): void;
  resumeTask(taskIdentifier: number): void;
  acknowledgeBody(taskIdentifier: number, bytes: number): void;
  /** A piece of a streamed request body (null: none) and 0 (more follows), 1 (the end) or 2 (failed); true: write more now. */
  writeBody(taskIdentifier: number, chunk: Buffer | null, end: number): boolean;
  /** Bytes per second (0: none) of a task, or of the session when taskIdentifier is 0. */
  setSpeedLimit(taskIdentifier: number, bytesPerSecond: number): void;
  finishTasksAndInvalidate(): void;
  invalidateAndCancel(): void;
  reset(token: number): void;
  flush(token: number): void;
  close(): void;
  /** At process 'exit': stops the engine (running downloads remove their partial files); later calls do nothing. */
  stopForExit(): void;
  /** The OS keeps this session's transfers after the process exits (macOS background session). */
  readonly usesSystemBackground: boolean;
}

/** native/core/file_lock.h's FileLockResult: `fd` >= 0 only when `status` is 'locked'. */
export interface NativeLockResult {
  status: 'locked' | 'held' | 'not-regular' | 'not-owner' | 'error';
  fd: number;
  /** 'error': the errno of the system call that failed (ELOOP: the path is a symlink). */
  errno: number;
  /** 'held': the pid the holder wrote into the file, 0 when it holds none. */
  holder: number;
}

export interface NativeBinding {
  NativeSession: typeof NativeSession;
  engine: 'curl' | 'apple';
  /** Takes an exclusive OS lock on `path` (creating it 0600), held until unlockFile(fd). Never blocks. */
  lockFile(path: string): NativeLockResult;
  /** Releases a lock of lockFile; false when `fd` is not one. */
  unlockFile(fd: number): boolean;
  /** native/core/file_ops.h kPartialFileNamePattern: the engines' partial file names, group 1 the creating pid. */
  partialFileNamePattern: string;
}
