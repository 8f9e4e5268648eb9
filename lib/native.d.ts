// Types of the compiled addon (native/addon.cc, native/bridge/). Internal to lib/.

/** Engine event kinds: native/engine/events.h's EventType (named in lib/native-constants.ts). */
export type NativeEventType = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

export interface NativeMetrics {
  dnsMs: number;
  connectMs: number;
  tlsMs: number;
  firstByteMs: number;
  totalMs: number;
  bytesSent: number;
  bytesReceived: number;
  redirectCount: number;
  protocol: string;
  remoteAddress: string;
}

export interface NativeEvent {
  type: NativeEventType;
  taskIdentifier: number;
  totalBytes?: number;
  expectedBytes?: number;
  statusCode?: number;
  errorCode?: number;
  message?: string;
  location?: string;
  url?: string;
  /** Flat [name, value, name, value, ...]. */
  headers?: string[];
  responseBody?: Buffer;
  metrics?: NativeMetrics;
  token?: number;
  /** TaskCompleted of a failed download that keeps its partial file (keepPartialOnFailure). */
  partialPath?: string;
  partialBytes?: number;
  validator?: string;
  /** The identity ("device:inode:birthNs") of that partial file (lib/partial-files.ts). */
  partialIdentity?: string;
  /** BodyData: a piece of a streamed body. */
  chunk?: Buffer;
  /** TaskRecovered: the task's kind (0 download, 1 upload, 2 data) and description. */
  kind?: 0 | 1 | 2;
  taskDescription?: string;
}

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
}

/** native/engine/engine.h's TaskKind (named in lib/native-constants.ts). */
export type NativeTaskKind = 0 | 1 | 2;

export interface NativeTaskRequest {
  taskIdentifier: number;
  kind: NativeTaskKind;
  url: string;
  method: string;
  headers: string[];
  body?: Buffer;
  bodyPath?: string;
  downloadDirectory?: string;
  downloadFileName?: string;
  timeout?: number;
  overwrite?: boolean;
  nameFromResponse?: boolean;
  discardOnHttpError?: boolean;
  keepPartialOnFailure?: boolean;
  resumePartialPath?: string;
  resumeOffset?: number;
  resumeValidator?: string;
  /** The identity ("device:inode:birthNs") the file at resumePartialPath must still be (lib/partial-files.ts). */
  resumeIdentity?: string;
  /** 'sha256' | 'sha384' | 'sha512' with the raw digests any of which must match. */
  integrityAlgorithm?: string;
  integrityDigests?: Buffer[];
  /** Data tasks: BodyData events instead of responseBody, acknowledged with acknowledgeBody. */
  streamBody?: boolean;
  /** Data/upload tasks with a body kept in memory: fail with -1103 past this many bytes; 0 none. */
  maximumResponseSize?: number;
}

export declare class NativeSession {
  /** onEvents receives one encoded batch: decode it with lib/native-events.ts's decodeEvents. */
  constructor(config: NativeSessionConfig, onEvents: (numbers: Float64Array, text: string, bodies: ArrayBuffer[] | undefined) => void);
  /** `packed` is packTaskRequest(request) (lib/native-constants.ts). */
  startTask(packed: unknown[]): void;
  cancelTask(taskIdentifier: number): void;
  suspendTask(taskIdentifier: number): void;
  resumeTask(taskIdentifier: number): void;
  acknowledgeBody(taskIdentifier: number, bytes: number): void;
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
