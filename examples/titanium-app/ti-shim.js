// The few Titanium globals examples/titanium-app/app.js uses, for Node: `Ti`/`Titanium` and its
// `require('com.appcelerator.urlSession')`. Each part is the smallest stand-in that keeps the
// app's meaning:
//   Ti.App.iOS     the module's events (downloadprogress, downloadcompleted, sessioncompleted,
//                  sessioneventscompleted) are urlsession's module-wide events (URLSession.on);
//                  backgroundfetch and backgroundtransfer are fired by the runner (fire()), as
//                  iOS fires them; every other call is a recorded no-op. A downloadcompleted
//                  file is removed once the app's listeners ran, as iOS removes it when the
//                  delegate returns: the app copies what it keeps (app.js: into its data folder).
//   Ti.API         one JSON line per log call.
//   Ti.App.Properties  a JSON file in the app's data folder, replaced crash-safely (temp file,
//                  fsync, rename) on every set: a kill -9 can come at any moment.
//   Ti.Filesystem  the app's data folder; nothing outside it is read or written.
//   Ti.UI          plain recorders: properties, children, listeners; the runner can click a button
//                  by its title and print the tree.
// URLs: the app's text keeps its internet URLs. When TI_APP_SERVER is set (an origin such as
// http://127.0.0.1:8080), the module-level task calls the app makes (downloadTask, uploadTask,
// dataTask with { session, url }) send their request there instead, same path and query.
// Everything here runs on Node's JS thread.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes, randomUUID } = require('node:crypto');
const URLSession = require('urlsession');

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;
/** The Ti.App.iOS events that are the urlsession module's own. */
const MODULE_EVENTS = [
  'downloadprogress',
  'downloadcompleted',
  'uploadprogress',
  'sessioncompleted',
  'sessioneventscompleted',
];
const PROPERTIES_FILE = 'ti.app.properties.json';
/** Temp files of replaceFile(): `<name>.<16 hex>.tmp`, removed at launch when a kill left one. */
const TEMP_NAME = /\.[0-9a-f]{16}\.tmp$/;

/**
 * Writes `chunks` (a function that calls write(bytes) for each piece) as `file`: a new temp file
 * next to it (O_CREAT|O_EXCL|O_NOFOLLOW, 0600: nothing planted there is opened), fsync, rename
 * over `file`, fsync the folder. A kill at any point leaves the old file or the new one.
 */
function replaceFile(file, chunks) {
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  let replaced = false;
  try {
    chunks((bytes) => fs.writeFileSync(fd, bytes)); // writeFileSync on a descriptor writes every byte
    fs.fsyncSync(fd);
    fs.renameSync(temp, file); // POSIX renames an open file; the descriptor follows it
    replaced = true;
  } finally {
    fs.closeSync(fd);
    if (!replaced) fs.rmSync(temp, { force: true });
  }
  const folder = fs.openSync(path.dirname(file), O_RDONLY | O_DIRECTORY);
  try {
    fs.fsyncSync(folder);
  } finally {
    fs.closeSync(folder);
  }
}

/** A regular file's bytes, read without following a link or waiting on a FIFO; undefined when absent. */
function readRegularFile(file) {
  let fd;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`${file} is not a regular file`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Builds the globals for one launch of the app.
 * @param {{ dataDirectory: string, server?: string, log: (line: object) => void }} options
 *   dataDirectory: the app's own folder (made 0700 by the caller); server: TI_APP_SERVER;
 *   log: writes one JSON line.
 */
function createTitanium({ dataDirectory, server, log }) {
  const dataRoot = path.resolve(dataDirectory);
  for (const name of fs.readdirSync(dataRoot))
    if (TEMP_NAME.test(name)) fs.rmSync(path.join(dataRoot, name), { force: true });

  // After every listener of the event (they run in one emit): without this the download folder
  // would keep every image of every launch.
  URLSession.on('downloadcompleted', (event) => setImmediate(() => fs.rmSync(event.location, { force: true })));

  // A listener of the app that throws is logged and the app goes on, as Titanium does.
  const guarded = (name, listener) => (event) => {
    try {
      listener(event);
    } catch (error) {
      log({ type: 'error', where: name, message: String(error && error.message), stack: String(error && error.stack) });
    }
  };

  // --- Ti.App.iOS -------------------------------------------------------------------------
  const calls = [];
  const record =
    (name) =>
    (...args) => {
      calls.push({ name, args });
      log({ type: 'call', name: `Ti.App.iOS.${name}`, args });
      return { name, args };
    };
  /** Listeners of the events the runner fires (backgroundfetch, backgroundtransfer). */
  const ownListeners = new Map();
  /** The app's listener → what was registered for it, so removeEventListener finds it. */
  const registered = new Map();
  /** The download Blobs of downloadcompleted events → the file each one reads (see File.write). */
  const downloadFiles = new WeakMap();
  const iOS = {
    BACKGROUNDFETCHINTERVAL_MIN: 0,
    BACKGROUNDFETCHINTERVAL_NEVER: -1,
    addEventListener(name, listener) {
      let wrapped = guarded(name, listener);
      if (name === 'downloadcompleted') {
        const inner = wrapped;
        wrapped = (event) => {
          downloadFiles.set(event.data, event.location);
          inner(event);
        };
      }
      registered.set(listener, wrapped);
      if (MODULE_EVENTS.includes(name)) URLSession.on(name, wrapped);
      else {
        if (!ownListeners.has(name)) ownListeners.set(name, new Set());
        ownListeners.get(name).add(wrapped);
      }
    },
    removeEventListener(name, listener) {
      const wrapped = registered.get(listener);
      if (wrapped === undefined) return;
      if (MODULE_EVENTS.includes(name)) URLSession.off(name, wrapped);
      else ownListeners.get(name)?.delete(wrapped);
    },
    setMinimumBackgroundFetchInterval: record('setMinimumBackgroundFetchInterval'),
    endBackgroundHandler: record('endBackgroundHandler'),
    scheduleLocalNotification: record('scheduleLocalNotification'),
    cancelLocalNotification: record('cancelLocalNotification'),
    cancelAllLocalNotifications: record('cancelAllLocalNotifications'),
    registerUserNotificationSettings: record('registerUserNotificationSettings'),
  };
  /** Fires an event iOS would fire (backgroundfetch, backgroundtransfer); returns its payload. */
  function fire(name, payload) {
    const event = { handlerId: randomUUID(), ...payload, type: name };
    log({ type: 'fire', event: name, payload: event });
    for (const listener of ownListeners.get(name) ?? []) listener(event);
    return event;
  }

  // --- Ti.API -----------------------------------------------------------------------------
  const API = {};
  for (const level of ['info', 'debug', 'warn', 'error', 'trace', 'log']) {
    API[level] = (...parts) => log({ type: 'log', level, message: parts.map(String).join(' ') });
  }

  // --- Ti.App.Properties ------------------------------------------------------------------
  const propertiesFile = path.join(dataRoot, PROPERTIES_FILE);
  const stored = readRegularFile(propertiesFile);
  const properties = stored === undefined ? {} : JSON.parse(stored.toString('utf8'));
  const getter = (name, fallback = null) =>
    Object.prototype.hasOwnProperty.call(properties, name) ? JSON.parse(JSON.stringify(properties[name])) : fallback;
  const setter = (name, value) => {
    properties[name] = JSON.parse(JSON.stringify(value));
    replaceFile(propertiesFile, (write) => write(Buffer.from(JSON.stringify(properties, null, 2))));
  };
  const Properties = {
    hasProperty: (name) => Object.prototype.hasOwnProperty.call(properties, name),
    removeProperty(name) {
      delete properties[name];
      replaceFile(propertiesFile, (write) => write(Buffer.from(JSON.stringify(properties, null, 2))));
    },
    listProperties: () => Object.keys(properties),
  };
  for (const type of ['Object', 'List', 'String', 'Bool', 'Int', 'Double']) {
    Properties[`get${type}`] = getter;
    Properties[`set${type}`] = setter;
  }

  // --- Ti.Filesystem ----------------------------------------------------------------------
  /** `parts` joined (a file:// URL or a path) and checked to name the data folder or something in it. */
  function inDataFolder(parts) {
    const joined = path.join(
      ...parts.map((p) => (String(p).startsWith('file://') ? new URL(String(p)).pathname : String(p))),
    );
    const resolved = path.resolve(dataRoot, joined);
    if (resolved !== dataRoot && !resolved.startsWith(dataRoot + path.sep))
      throw new Error(`Ti.Filesystem (shim): ${resolved} is outside the app's data folder`);
    return resolved;
  }
  function getFile(...parts) {
    const file = inDataFolder(parts);
    const stat = () => {
      try {
        return fs.lstatSync(file);
      } catch {
        return undefined;
      }
    };
    return {
      nativePath: file,
      name: path.basename(file),
      exists: () => stat() !== undefined,
      isDirectory: () => stat()?.isDirectory() === true,
      getDirectoryListing: () => (stat()?.isDirectory() ? fs.readdirSync(file).sort() : null),
      /**
       * Titanium's write is synchronous and returns whether it worked. Strings and bytes are
       * written as they are; a downloadcompleted Blob is copied from the file it reads (Node has
       * no synchronous read of a Blob), and only when that file still has the Blob's size.
       */
      write(data) {
        try {
          if (typeof data === 'string' || data instanceof Uint8Array) {
            replaceFile(file, (write) => write(typeof data === 'string' ? Buffer.from(data) : data));
          } else if (downloadFiles.has(data)) {
            copyDownload(downloadFiles.get(data), data.size, file);
          } else {
            throw new TypeError('the shim writes strings, bytes and downloadcompleted Blobs');
          }
          log({ type: 'write', path: file });
          return true;
        } catch (error) {
          log({ type: 'error', where: 'Ti.Filesystem.File.write', message: String(error.message) });
          return false;
        }
      },
    };
  }
  function copyDownload(source, size, target) {
    const fd = fs.openSync(source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size !== size) throw new Error(`${source} is no longer the downloaded file`);
      replaceFile(target, (write) => {
        const chunk = Buffer.alloc(256 * 1024);
        for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) write(chunk.subarray(0, n));
      });
    } finally {
      fs.closeSync(fd);
    }
  }
  const Filesystem = { applicationDataDirectory: dataRoot + path.sep, separator: path.sep, getFile };

  // --- Ti.UI ------------------------------------------------------------------------------
  const views = [];
  /** A view proxy: its creation properties, set*() / get*() for any property, children and listeners. */
  function createView(kind, properties = {}) {
    const target = { kind, ...properties, children: [] };
    const listeners = new Map();
    const methods = {
      add: (child) => void target.children.push(child),
      remove: (child) => void (target.children = target.children.filter((c) => c !== child)),
      addEventListener(name, listener) {
        if (!listeners.has(name)) listeners.set(name, new Set());
        listeners.get(name).add(guarded(`${kind}.${name}`, listener));
      },
      removeEventListener: () => {},
      fireEvent(name, event = {}) {
        for (const listener of listeners.get(name) ?? []) listener({ ...event, type: name, source: view });
      },
      // Titanium opens a window asynchronously and then fires 'open'.
      open: () => void setImmediate(() => view.fireEvent('open')),
      close: () => void setImmediate(() => view.fireEvent('close')),
    };
    const view = new Proxy(target, {
      get(t, key) {
        if (typeof key !== 'string') return t[key];
        if (Object.prototype.hasOwnProperty.call(methods, key)) return methods[key];
        const accessor = /^(set|get)([A-Z]\w*)$/.exec(key);
        if (accessor !== null && !(key in t)) {
          const name = accessor[2][0].toLowerCase() + accessor[2].slice(1);
          return accessor[1] === 'set' ? (value) => void (t[name] = value) : () => t[name];
        }
        return t[key];
      },
    });
    views.push(view);
    return view;
  }
  const UI = { LIST_ITEM_TEMPLATE_DEFAULT: 0, FILL: 'fill', SIZE: 'size' };
  for (const kind of ['Window', 'Button', 'View', 'Label', 'ListView', 'ListSection'])
    UI[`create${kind}`] = (properties) => createView(kind, properties);

  /** Fires 'click' on the button titled `title`; false when there is none. */
  function click(title) {
    const button = views.find((v) => v.kind === 'Button' && v.title === title);
    if (button === undefined) return false;
    button.fireEvent('click');
    return true;
  }
  /** The windows' trees as plain data (what the app shows). */
  function describeUI() {
    const plain = (value) => {
      if (Array.isArray(value)) return value.map(plain);
      if (value === null || typeof value !== 'object') return value;
      const out = {};
      for (const key of Object.keys(value)) if (typeof value[key] !== 'function') out[key] = plain(value[key]);
      return out;
    };
    return views.filter((v) => v.kind === 'Window').map(plain);
  }

  // --- require('com.appcelerator.urlSession') ---------------------------------------------
  const mapUrl = (url) => {
    if (!server) return url;
    const original = new URL(url);
    const mapped = new URL(original.pathname + original.search, server).href;
    log({ type: 'map', from: url, to: mapped });
    return mapped;
  };
  const withLocalUrl = (call) => {
    if (typeof call !== 'function') return call; // a library without this form: the app sees it missing
    return (args) =>
      call(
        args !== null && typeof args === 'object' && typeof args.url === 'string'
          ? { ...args, url: mapUrl(args.url) }
          : args,
      );
  };
  const moduleForApp = {
    ...URLSession,
    downloadTask: withLocalUrl(URLSession.downloadTask),
    uploadTask: withLocalUrl(URLSession.uploadTask),
    dataTask: withLocalUrl(URLSession.dataTask),
  };
  function requireForApp(name) {
    if (name === 'com.appcelerator.urlSession') return moduleForApp;
    throw new Error(`Cannot find module '${name}' (the shim provides com.appcelerator.urlSession only)`);
  }

  const Ti = { App: { iOS, Properties }, API, Filesystem, UI };
  return { Ti, require: requireForApp, fire, click, describeUI, calls };
}

module.exports = { createTitanium };
